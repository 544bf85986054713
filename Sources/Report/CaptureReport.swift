import Foundation
import LM
import Steering
import Store

/// What a steering prompt does to each token, read from a capture, and what steering files predict
/// there: the numbers behind `psr report` and the gate activity of `compare`'s report.html.
///
/// For response token t at layer l, with Δ_t the captured delta and h_t the unprompted state:
/// - ‖Δ_t‖, and cos(Δ_t, Δ̄) with Δ̄ the mean delta over every token of the capture at l;
/// - per steering file, the coefficient it applies at l: a PSR gate's α·ReLU(w·h_t + b), or a
///   vector's α·a (0 where its positions leave response tokens alone, as PrOSV's do);
/// - per layer: mean ‖Δ‖, the share of Σ‖Δ‖² carried by the top 10% of tokens, and each file's
///   relative MSE Σ‖Δ_t − p_t‖² / Σ‖Δ_t‖², p_t being the sum of its edits at l;
/// - per gate: the projection of Δ_t on its direction z, Δ_t·z/‖z‖² (the coefficient that would fit
///   Δ_t best along z), beside the coefficient the gate applies.
/// Only the first `maxExamples` examples carry per-token values; the summaries use every token.
public struct CaptureReport: Codable, Sendable {
  public struct Token: Codable, Sendable, Equatable {
    public var id: Int
    public var text: String
  }

  /// ‖Δ‖ and cos(Δ, Δ̄) of each token at one layer.
  public struct LayerValues: Codable, Sendable {
    public var norm: [Float]
    public var cosine: [Float]
  }

  public struct Example: Codable, Sendable {
    public var index: Int
    public var instruction: String
    public var tokens: [Token]
    /// Keyed by layer (a JSON object's keys are strings).
    public var layers: [String: LayerValues]
    /// File name → layer → the coefficient of the file's first edit at that layer, per token.
    public var coefficients: [String: [String: [Float]]]
  }

  public struct LayerSummary: Codable, Sendable {
    public var layer: Int
    public var tokens: Int
    public var meanNorm: Double
    /// Σ‖Δ‖² of the 10% of tokens with the largest ‖Δ‖ (at least one), over Σ‖Δ‖².
    public var topDecileShare: Double
    /// The 99th percentile of ‖Δ‖: the top of the page's colour scale.
    public var colourScale: Double
    /// File name → relative MSE of its prediction of Δ at this layer (files that act here).
    public var relativeMSE: [String: Double]
  }

  /// A gate's coefficient against the projection of Δ on its direction, per token (every k-th
  /// token where there are more than `scatterPoints`).
  public struct GateScatter: Codable, Sendable {
    public var file: String
    public var layer: Int
    public var projection: [Float]
    public var coefficient: [Float]
  }

  public var capture: String
  public var modelName: String
  public var steeringPrompt: String
  public var layers: [Int]
  public var files: [String]
  public var exampleCount: Int
  public var examples: [Example]
  public var summaries: [LayerSummary]
  public var scatters: [GateScatter]

  /// Reads `reader` layer by layer; `files` are (name, steering file) pairs whose width must be the
  /// capture's; `tokenText` gives the text of one token id.
  public init(
    reader: ActivationReader, files: [(name: String, file: SteeringFile)], tokenText: (Int) -> String, maxExamples: Int = 40,
    scatterPoints: Int = 2000
  ) throws {
    let d = reader.header.modelDimension
    for (name, file) in files where file.model.modelDimension != d {
      throw ReportError.mismatch("\(name) is for a model of width \(file.model.modelDimension); the capture's is \(d)")
    }
    guard reader.exampleCount > 0 else { throw ReportError.unreadable("\(reader.path) holds no complete example to report on") }
    capture = reader.path
    modelName = reader.header.modelName
    steeringPrompt = reader.header.steeringPrompt
    layers = reader.header.layers
    self.files = files.map(\.name)
    exampleCount = reader.exampleCount
    let shown = 0..<min(max(0, maxExamples), reader.exampleCount)
    let instructions = try reader.instructions(shown)
    let shownRows = 0..<(reader.tokenOffsets[shown.upperBound])
    let ids = try reader.tokens(shownRows).map(Int.init)
    let offsets = reader.tokenOffsets
    examples = shown.map { e in
      Example(
        index: e, instruction: instructions[e], tokens: ids[offsets[e]..<offsets[e + 1]].map { Token(id: $0, text: tokenText($0)) },
        layers: [:], coefficients: [:])
    }
    summaries = []
    scatters = []
    for layer in layers {
      let delta = try reader.delta(layer: layer)
      // The unprompted states are read only where a gate needs them (w·h): half the I/O otherwise.
      let gated = files.contains { $0.file.gates.contains { $0.layer == layer } }
      // The reader refuses non-finite values, naming the row.
      let base = gated ? try reader.base(layer: layer) : []
      let stats = LayerStatistics(delta: delta, width: d)
      var summary = LayerSummary(
        layer: layer, tokens: stats.norms.count, meanNorm: stats.meanNorm, topDecileShare: stats.topDecileShare,
        colourScale: stats.percentile99, relativeMSE: [:])
      for e in examples.indices {
        let rows = offsets[examples[e].index]..<offsets[examples[e].index + 1]
        examples[e].layers[String(layer)] = LayerValues(
          norm: rows.map { Float(stats.norms[$0]) }, cosine: rows.map { Float(stats.cosines[$0]) })
      }
      for (name, file) in files {
        let edits = EntryEdits(file: file, layer: layer)
        guard !edits.isEmpty else { continue }
        let coefficients = edits.coefficients(base: base, rows: stats.norms.count, width: d)
        summary.relativeMSE[name] = edits.relativeMSE(delta: delta, coefficients: coefficients, width: d, total: stats.sumSquares)
        for e in examples.indices {
          let rows = offsets[examples[e].index]..<offsets[examples[e].index + 1]
          examples[e].coefficients[name, default: [:]][String(layer)] = rows.map { coefficients[0][$0] }
        }
        for (k, gate) in edits.entries.enumerated() where gate.isGate {
          let stride = max(1, (stats.norms.count + scatterPoints - 1) / max(1, scatterPoints))
          let picked = Swift.stride(from: 0, to: stats.norms.count, by: stride)
          scatters.append(
            GateScatter(
              file: name, layer: layer, projection: picked.map { gate.projection(of: delta, row: $0, width: d) },
              coefficient: picked.map { coefficients[k][$0] }))
        }
      }
      summaries.append(summary)
    }
  }
}

/// A failure to make a report, in words.
public enum ReportError: Error, CustomStringConvertible, Equatable {
  case mismatch(String)
  case unreadable(String)

  public var description: String {
    switch self {
    case .mismatch(let why), .unreadable(let why): why
    }
  }
}
