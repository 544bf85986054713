import ArgumentParser
import CLICommon
import Foundation
import LM
import Report
import Steering
import Store

public struct ReportCommand: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write one self-contained HTML page that shows what a steering prompt does to each token of a capture.",
    discussion: """
      The page (no network, all assets inline; opens from file://) shows each example's response tokens \
      coloured by ‖Δ‖ at a layer chosen on the page; hovering or tapping a token shows its text, id, ‖Δ‖, \
      cos(Δ, mean Δ) and, for each steering file, the coefficient it applies there (a PSR gate's \
      α·ReLU(w·h + b), a vector's constant). A table per layer gives mean ‖Δ‖, the share of ‖Δ‖² in the top \
      10% of tokens and each file's relative MSE; for each PSR gate, a scatter of its coefficient against \
      the projection of Δ on its direction. Without JavaScript the tables, the plots and the tokens at the \
      first layer still read. The numbers are embedded as JSON (<script id="capture">).

      Examples:
        psr report --data evil.h5 --steer evil.psr --out evil.html
        psr report --data run.h5 --steer pirate.psr --steer rental.prosv.json --steer examples/evil.cvec.gguf --examples 100 --out r.html
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "The capture (HDF5, from capture or compare).") var data: String
  @Option(help: "A steering file or control vector whose coefficients to show; repeatable.") public var steer: [String] = []
  @Option(help: "Examples shown token by token (the summaries use every example).") var examples = 40
  @Option(help: "The HTML file to write.") var out: String

  public func validate() throws {
    try Check.within(examples, 0...100_000, "--examples")
    if data.isEmpty { throw ValidationError("--data is empty") }
    try Check.outputFile(out, "--out")
    for s in steer where s.isEmpty { throw ValidationError("--steer is empty") }
  }

  public func run() throws {
    let reader = try ActivationReader(path: data)
    let model = try modelOptions.load()
    let sha = try model.fingerprint.sha256
    guard sha == reader.header.modelSHA256 else {
      throw CLIError(
        "\(data) was captured with \(reader.header.modelName) (sha256 \(reader.header.modelSHA256.prefix(12))…), not with \(model.path)")
    }
    var files: [(name: String, file: SteeringFile)] = []
    for path in steer {
      do {
        let file = try SteeringFile.load(path, for: model)
        try model.fingerprint.requireMatch(file.model, file: path)
        files.append((URL(fileURLWithPath: path).lastPathComponent, file))
      } catch let error as CustomStringConvertible { throw CLIError("\(error)") }
    }
    let tokenizer = model.tokenizer
    let report = try CaptureReport(
      reader: reader, files: files, tokenText: { TokenText.of($0, tokenizer) },
      maxExamples: examples)
    let html = try CaptureReportPage.html(report)
    do { try Data(html.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
      throw CLIError("cannot write \(out): \(error.localizedDescription)")
    }
    log(
      "wrote \(out) (\(html.utf8.count / 1024) KiB: \(report.examples.count) of \(report.exampleCount) examples, layers \(report.layers); peak RSS \(peakResidentMegabytes()) MB)"
    )
  }
}
