import Capture
import Foundation
import LM
import Store
import TestSupport
import XCTest

final class ActivationCaptureTests: TemporaryDirectoryTestCase {
  private func states(_ model: DecoderModel, _ tokens: [Int], layer: Int) throws -> [[Float]] {
    let recorder = Recorder(layers: [layer])
    try model.forward(
      [ForwardChunk(tokens: tokens, cache: model.makeCache(), promptLength: tokens.count)], logits: .none, intervention: recorder)
    return recorder.states[layer]!
  }

  func testDeltaAndBaseEqualTwoIndependentForwardPasses() throws {
    try assertCaptureEqualsTwoPasses(try Fixtures.model(), layers: [4, 15])
  }

  func testDeltaAndBaseEqualTwoPassesOnEveryFamily() throws {
    // Gemma-2's windows are shorter than the prompted sequences, so they shift with the prompt.
    for family in FamilyFixture.families {
      for (_, model) in try FamilyFixture.load(family).models() {
        try assertCaptureEqualsTwoPasses(model, layers: [0, model.configuration.layerCount - 1])
      }
    }
  }

  private func assertCaptureEqualsTwoPasses(_ model: DecoderModel, layers: [Int]) throws {
    let options = CaptureOptions(
      steeringPrompt: "You are a pirate. Talk like one.", promptPosition: .prefix, layers: layers, maxNewTokens: 12, seed: 3)
    let capture = try ActivationCapture(model: model, options: options)
    let inputs = [
      CaptureInput(instruction: "Describe the weather."), CaptureInput(instruction: "Name a fruit.", output: "An apple, of course!"),
    ]
    let examples = try capture.capture(inputs, indices: [0, 1])
    XCTAssertEqual(examples.count, 2)
    let d = model.configuration.modelDimension
    for (input, example) in zip(inputs, examples) {
      let pair = model.promptPair(instruction: input.instruction, steeringPrompt: options.steeringPrompt, position: .prefix)
      let response = example.tokens.map(Int.init)
      if let output = input.output {
        XCTAssertEqual(response, Array(model.tokenizer.encode(output, parseSpecial: false).prefix(options.maxNewTokens)))
      }
      XCTAssertEqual(example.base[layers[1]]!.count, response.count * d, "one row per response token")
      for layer in layers {
        let prompted = try states(model, pair.prompted + response, layer: layer)
        let unprompted = try states(model, pair.unprompted + response, layer: layer)
        for t in 0..<response.count {
          let p = prompted[pair.prompted.count + t]
          let u = unprompted[pair.unprompted.count + t]
          let base = Array(example.base[layer]![(t * d)..<((t + 1) * d)])
          let delta = Array(example.delta[layer]![(t * d)..<((t + 1) * d)])
          XCTAssertLessThan(zip(base, u).map { abs($0 - $1) }.max()!, 1e-3, "base, layer \(layer) token \(t)")
          XCTAssertLessThan(zip(delta, zip(p, u).map { $0 - $1 }).map { abs($0 - $1) }.max()!, 1e-3, "delta, layer \(layer) token \(t)")
        }
      }
    }
  }

  /// A response whose tokens decode to a NUL byte is stored with U+FFFD in its text (an HDF5
  /// string ends at NUL) and its exact tokens, instead of failing the capture.
  func testResponseWithANulByteIsStoredWithItsExactTokens() throws {
    let model = try Fixtures.model()
    let capture = try ActivationCapture(model: model, options: CaptureOptions(steeringPrompt: "Be brief.", layers: [3], maxNewTokens: 4))
    let path = directory.appendingPathComponent("nul.h5").path
    let writer = try ActivationWriter.create(path: path, header: try capture.header(toolVersion: "test"))
    try capture.run([CaptureInput(instruction: "Say it.", output: "A\u{0}B")], into: writer)
    try writer.close()
    let reader = try ActivationReader(path: path)
    let tokens = try reader.tokens().map(Int.init)
    XCTAssertEqual(tokens, model.tokenizer.encode("A\u{0}B", parseSpecial: false))
    XCTAssertTrue(model.tokenizer.decode(tokens).utf8.contains(0), "the tokens keep the NUL")
    XCTAssertEqual(try reader.responses(), ["A\u{FFFD}B"])
  }

  func testEmptySteeringPromptGivesZeroDelta() throws {
    let model = try Fixtures.model()
    let capture = try ActivationCapture(
      model: model, options: CaptureOptions(steeringPrompt: "", layers: [0, 29], maxNewTokens: 8, temperature: 0))
    let examples = try capture.capture([CaptureInput(instruction: "Say hi.")], indices: [0])
    for l in [0, 29] { XCTAssertTrue(examples[0].delta[l]!.allSatisfy { $0 == 0 }, "layer \(l)") }
    XCTAssertFalse(examples[0].base[29]!.allSatisfy { $0 == 0 })
  }

  func testSystemPositionReplacesTheDefaultSystemMessage() throws {
    let model = try Fixtures.model()
    let pair = model.promptPair(instruction: "Hi", steeringPrompt: "Be evil.", position: .system)
    XCTAssertEqual(
      pair.prompted,
      model.tokenizer.encode(
        "<|im_start|>system\nBe evil.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", parseSpecial: true))
    let prefix = model.promptPair(instruction: "Hi", steeringPrompt: "Be evil.", position: .prefix)
    XCTAssertEqual(model.tokenizer.decode(prefix.prompted).contains("Be evil.\n\nQuestion: Hi"), true)
  }

  func testLayerOutOfRangeAndBadInputsAreErrors() throws {
    let model = try Fixtures.model()
    XCTAssertThrowsError(try ActivationCapture(model: model, options: CaptureOptions(steeringPrompt: "x", layers: [30]))) {
      XCTAssertEqual($0 as? CaptureError, .layerOutOfRange(30, layerCount: 30))
    }
    let empty = directory.appendingPathComponent("p.txt").path
    try "  \n".write(toFile: empty, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try InputFile.readPrompt(empty)) { XCTAssertEqual($0 as? CaptureError, .emptyPromptFile(empty)) }
    let inputs = directory.appendingPathComponent("x.jsonl").path
    try "{\"instruction\": \"a\"}\n{oops\n{\"output\": \"no instruction\"}\n{\"instruction\": \"b\", \"output\": \"y\"}\n"
      .write(toFile: inputs, atomically: true, encoding: .utf8)
    let (read, problems) = try InputFile.read(inputs, strict: false)
    XCTAssertEqual(read, [CaptureInput(instruction: "a"), CaptureInput(instruction: "b", output: "y")])
    XCTAssertEqual(problems.map(\.line), [2, 3])
    XCTAssertThrowsError(try InputFile.read(inputs, strict: true)) { error in
      guard case CaptureError.malformedInput(_, let problem) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(problem.line, 2)
    }
    // Windows line ends, in both kinds of input file.
    let crlf = directory.appendingPathComponent("crlf.jsonl").path
    try "{\"instruction\": \"a\"}\r\n\r\n{\"question\": \"b\"}\r\n".write(toFile: crlf, atomically: true, encoding: .utf8)
    XCTAssertEqual(try InputFile.read(crlf, strict: true).inputs, [CaptureInput(instruction: "a"), CaptureInput(instruction: "b")])
    let plain = directory.appendingPathComponent("crlf.txt").path
    try "first\r\nsecond\r\n".write(toFile: plain, atomically: true, encoding: .utf8)
    XCTAssertEqual(try InputFile.read(plain, strict: true).inputs, [CaptureInput(instruction: "first"), CaptureInput(instruction: "second")])
  }

  func testNonFiniteActivationsStopTheCaptureWithTheLayerNamed() throws {
    // The llama fixture with one attention norm weight made infinite: every later state is NaN.
    let source = try FamilyFixture.load("llama").gguf
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
    let gguf = try GGUFFile(bytes: bytes)
    let norm = Array(gguf.tensorData(try gguf.tensor("blk.0.attn_norm.weight")))
    let at = try XCTUnwrap((0...(bytes.count - norm.count)).first { bytes[$0..<($0 + norm.count)].elementsEqual(norm) })
    withUnsafeBytes(of: Float.infinity.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
    let path = directory.appendingPathComponent("broken.gguf").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let model = try DecoderModel(path: path)
    let capture = try ActivationCapture(
      model: model, options: CaptureOptions(steeringPrompt: "Be brief.", layers: [1], maxNewTokens: 4))
    XCTAssertThrowsError(try capture.capture([CaptureInput(instruction: "Hi", output: "Hello there")], indices: [0])) { error in
      XCTAssertEqual(error as? CaptureError, .nonFiniteActivation(layer: 1, instruction: "Hi"))
    }
  }
}
