import Foundation
import LM
import Report
import Steering
import Store
import TestSupport
import XCTest

/// `psr report`'s page: its embedded numbers equal those computed here from the HDF5 file, and its
/// static text holds every example's tokens in order.
final class CaptureReportTests: TemporaryDirectoryTestCase {
  private let d = 8
  private let layers = [3, 5]
  private let lengths = [5, 1, 7]
  private let fingerprint = ModelFingerprint(name: "test", sha256: "abc", layerCount: 30, modelDimension: 8)

  /// A capture of three examples with random states at two layers.
  private func makeCapture() throws -> String {
    let path = directory.appendingPathComponent("c.h5").path
    let header = ActivationHeader(
      modelName: "test", modelSHA256: "abc", layerCount: 30, modelDimension: d, steeringPrompt: "Be <evil> & \"bold\"",
      promptPosition: "prefix", chatTemplateID: "chatml", seed: 7, created: "now", toolVersion: "test", layers: layers,
      storage: "float32")
    let writer = try ActivationWriter.create(path: path, header: header)
    var g = SeededGenerator(seed: 3)
    for (e, n) in lengths.enumerated() {
      func states() -> [Float] { (0..<(n * d)).map { _ in Float.random(in: -2...2, using: &g) } }
      try writer.append(
        CapturedExample(
          instruction: "question \(e) <b>", response: "r", tokens: (0..<n).map { Int32(10 * e + $0) },
          base: [3: states(), 5: states()], delta: [3: states(), 5: states()]))
    }
    try writer.close()
    return path
  }

  private func files() -> [(name: String, file: SteeringFile)] {
    var g = SeededGenerator(seed: 5)
    func vector() -> [Float] { (0..<d).map { _ in Float.random(in: -1...1, using: &g) } }
    var psr = SteeringFile(kind: .psr, model: fingerprint, tokenizer: "t", chatTemplate: "chatml")
    psr.alpha = 1.5
    psr.gates = [GateEntry(layer: 3, weight: vector(), bias: 0.2, direction: vector())]
    var fssv = SteeringFile(kind: .fssv, model: fingerprint, tokenizer: "t", chatTemplate: "chatml")
    fssv.vectors = [VectorEntry(layer: 5, positions: .all, alpha: 0.7, vector: vector())]
    var prosv = SteeringFile(kind: .prosv, model: fingerprint, tokenizer: "t", chatTemplate: "chatml")
    prosv.vectors = [VectorEntry(layer: 5, positions: .prompt(prefix: 2, suffix: 2), alpha: 3, vector: vector())]
    return [("g.psr", psr), ("v.fssv", fssv), ("p.prosv", prosv)]
  }

  private static func text(_ id: Int) -> String { id % 2 == 0 ? " tok\(id)" : "<\(id)&\"" }

  /// The JSON the page embeds for its script.
  private func embedded(_ html: String, id: String) throws -> [String: Any] {
    let open = "<script type=\"application/json\" id=\"\(id)\">"
    let start = try XCTUnwrap(html.range(of: open)).upperBound
    let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
    return try XCTUnwrapJSON(String(html[start..<end]))
  }

  private func XCTUnwrapJSON(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  func testEmbeddedValuesEqualThoseComputedFromTheCapture() throws {
    let reader = try ActivationReader(path: try makeCapture())
    let files = files()
    let html = try CaptureReportPage.html(try CaptureReport(reader: reader, files: files, tokenText: Self.text))
    let json = try embedded(html, id: "capture")
    let examples = try XCTUnwrap(json["examples"] as? [[String: Any]])
    XCTAssertEqual(examples.count, lengths.count)
    let ids = try reader.tokens().map(Int.init)
    for layer in layers {
      let delta = try reader.delta(layer: layer)
      let base = try reader.base(layer: layer)
      let n = delta.count / d
      let mean = (0..<d).map { i in (0..<n).reduce(0.0) { $0 + Double(delta[$1 * d + i]) } / Double(n) }
      func row(_ m: [Float], _ t: Int) -> [Double] { (0..<d).map { Double(m[t * d + $0]) } }
      func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
      for (e, example) in examples.enumerated() {
        let rows = reader.tokenOffsets[e]..<reader.tokenOffsets[e + 1]
        let tokens = try XCTUnwrap(example["tokens"] as? [[String: Any]])
        XCTAssertEqual(tokens.map { $0["id"] as? Int }, ids[rows].map { $0 })
        XCTAssertEqual(tokens.map { $0["text"] as? String }, ids[rows].map(Self.text))
        let values = try XCTUnwrap((example["layers"] as? [String: Any])?[String(layer)] as? [String: [Double]])
        let coefficients = try XCTUnwrap(example["coefficients"] as? [String: [String: [Double]]])
        for (k, t) in rows.enumerated() {
          let delta = row(delta, t)
          let cosine = zip(delta, mean).reduce(0) { $0 + $1.0 * $1.1 } / (norm(delta) * norm(mean))
          XCTAssertEqual(values["norm"]![k], norm(delta), accuracy: 1e-4 * max(1, norm(delta)))
          XCTAssertEqual(values["cosine"]![k], cosine, accuracy: 1e-4)
          if layer == 3 {
            let gate = files[0].file.gates[0]
            let a = zip(gate.weight, row(base, t)).reduce(Double(gate.bias)) { $0 + Double($1.0) * $1.1 }
            XCTAssertEqual(coefficients["g.psr"]?["3"]?[k] ?? -1, 1.5 * max(0, a), accuracy: 1e-4)
          } else {
            XCTAssertEqual(coefficients["v.fssv"]?["5"]?[k] ?? -1, 0.7, accuracy: 1e-6)
            XCTAssertEqual(coefficients["p.prosv"]?["5"]?[k] ?? -1, 0, "PrOSV leaves response tokens alone")
          }
        }
      }
    }
    // The vector's relative MSE at layer 5, from the file's own rows.
    let delta = try reader.delta(layer: 5)
    let v = files[1].file.vectors[0].vector
    var error = 0.0
    var total = 0.0
    for (i, x) in delta.enumerated() {
      error += pow(Double(x) - 0.7 * Double(v[i % d]), 2)
      total += Double(x) * Double(x)
    }
    let summaries = try XCTUnwrap(json["summaries"] as? [[String: Any]])
    let five = try XCTUnwrap(summaries.first { $0["layer"] as? Int == 5 })
    XCTAssertEqual((five["relativeMSE"] as? [String: Double])?["v.fssv"] ?? -1, error / total, accuracy: 1e-6)
    XCTAssertNil((five["relativeMSE"] as? [String: Double])?["g.psr"], "the gate acts at layer 3 only")
    XCTAssertEqual((json["scatters"] as? [[String: Any]])?.count, 1, "one gate")
  }

  /// Without JavaScript the tokens still read: every example's token texts, escaped, in order.
  func testStaticPageHoldsEveryTokenInOrderEscaped() throws {
    let reader = try ActivationReader(path: try makeCapture())
    let html = try CaptureReportPage.html(try CaptureReport(reader: reader, files: files(), tokenText: Self.text))
    let ids = try reader.tokens().map(Int.init)
    var cursor = html.startIndex
    for id in ids {
      let escaped =
        ">"
        + Self.text(id).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: "\"", with: "&quot;") + "</span>"
      let found = try XCTUnwrap(html.range(of: escaped, range: cursor..<html.endIndex), "token \(id) in order")
      cursor = found.upperBound
    }
    XCTAssertFalse(html.contains("<b>"), "instructions are escaped")
    XCTAssertFalse(html.contains("http://") && html.contains("src=\"http"), "nothing is fetched")
  }

  /// A capture with no example, or with a NaN in its states, is an error naming it, not a page.
  func testEmptyOrNonFiniteCapturesAreRefused() throws {
    let path = directory.appendingPathComponent("empty.h5").path
    let header = ActivationHeader(
      modelName: "test", modelSHA256: "abc", layerCount: 30, modelDimension: d, steeringPrompt: "P", promptPosition: "prefix",
      chatTemplateID: "chatml", seed: 7, created: "now", toolVersion: "test", layers: [3], storage: "float32")
    try ActivationWriter.create(path: path, header: header).close()
    XCTAssertThrowsError(try CaptureReport(reader: try ActivationReader(path: path), files: [], tokenText: Self.text)) {
      XCTAssertTrue("\($0)".contains("no complete example"), "\($0)")
    }
    let nan = directory.appendingPathComponent("nan.h5").path
    let writer = try ActivationWriter.create(path: nan, header: header)
    var delta = [Float](repeating: 1, count: 2 * d)
    delta[3] = .nan
    try writer.append(
      CapturedExample(
        instruction: "i", response: "r", tokens: [1, 2], base: [3: [Float](repeating: 1, count: 2 * d)], delta: [3: delta]))
    try writer.close()
    XCTAssertThrowsError(try CaptureReport(reader: try ActivationReader(path: nan), files: [], tokenText: Self.text)) {
      XCTAssertTrue("\($0)".contains("layers/3/delta holds nan at row 0, column 3"), "\($0)")
    }
  }

  func testAFileOfAnotherWidthIsRefused() throws {
    let reader = try ActivationReader(path: try makeCapture())
    var file = SteeringFile(
      kind: .fssv, model: ModelFingerprint(name: "other", sha256: "x", layerCount: 30, modelDimension: 16), tokenizer: "t",
      chatTemplate: "c")
    file.vectors = [VectorEntry(layer: 5, positions: .all, alpha: 1, vector: [Float](repeating: 1, count: 16))]
    XCTAssertThrowsError(try CaptureReport(reader: reader, files: [("wide.json", file)], tokenText: Self.text)) {
      XCTAssertTrue("\($0)".contains("wide.json"), "\($0)")
    }
  }
}
