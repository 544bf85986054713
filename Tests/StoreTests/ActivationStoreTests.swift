import Foundation
import Store
import TestSupport
import XCTest

final class ActivationStoreTests: TemporaryDirectoryTestCase {
  private func header(layers: [Int] = [3, 10], storage: String = "float32") -> ActivationHeader {
    ActivationHeader(
      modelName: "test", modelSHA256: "abc", layerCount: 30, modelDimension: 8, steeringPrompt: "Be a pirate.",
      promptPosition: "prefix", chatTemplateID: "chatml", seed: 7, created: "2026-11-26T00:00:00Z", toolVersion: "test",
      layers: layers, storage: storage)
  }

  private func example(_ i: Int, tokens: Int) -> CapturedExample {
    let values = { (salt: Float) in (0..<(tokens * 8)).map { Float($0) * 0.25 + Float(i) * 100 + salt } }
    return CapturedExample(
      instruction: "instruction \(i) — ünïcode", response: "response \(i)", tokens: (0..<tokens).map { Int32($0 + i) },
      base: [3: values(0.5), 10: values(1.5)], delta: [3: values(-0.5), 10: values(-1.5)])
  }

  func testRoundTripFloat32() throws {
    let path = directory.appendingPathComponent("a.h5").path
    let writer = try ActivationWriter.create(path: path, header: header())
    let examples = [example(0, tokens: 5), example(1, tokens: 300), example(2, tokens: 1)]
    for e in examples { try writer.append(e) }
    try writer.close()

    let reader = try ActivationReader(path: path)
    XCTAssertEqual(reader.header, header())
    XCTAssertEqual(reader.exampleCount, 3)
    XCTAssertEqual(reader.tokenOffsets, [0, 5, 305, 306])
    XCTAssertEqual(try reader.instructions(), examples.map(\.instruction))
    XCTAssertEqual(try reader.responses(1..<2), ["response 1"])
    XCTAssertEqual(try reader.tokens(), examples.flatMap(\.tokens))
    XCTAssertEqual(try reader.base(layer: 10, rows: 5..<305), examples[1].base[10])
    XCTAssertEqual(try reader.delta(layer: 3), examples.flatMap { $0.delta[3]! })
    XCTAssertThrowsError(try reader.base(layer: 4))
  }

  /// Every chunk of numbers carries a Fletcher-32 checksum, so one flipped bit in a stored activation
  /// is a read error that says so, never a different value.
  func testAFlippedBitInTheActivationsIsAnErrorNotADifferentValue() throws {
    let path = directory.appendingPathComponent("f.h5").path
    let writer = try ActivationWriter.create(path: path, header: header())
    try writer.append(example(1, tokens: 300))
    try writer.close()
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    // 351.5 = 0.25·1000 + 101.5 is stored in base and delta tables; flip the lowest mantissa bit of its first copy.
    let pattern = withUnsafeBytes(of: Float(351.5).bitPattern.littleEndian, Array.init)
    let at = try XCTUnwrap((0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == pattern })
    bytes[at] ^= 1
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(
      try {
        let reader = try ActivationReader(path: path)
        for layer in [3, 10] { _ = (try reader.base(layer: layer), try reader.delta(layer: layer)) }
      }()
    ) { XCTAssertTrue("\($0)".contains("Fletcher32 checksum"), "\($0)") }
  }

  /// The capture's compute precision round-trips; fp32 writes no attribute (files stay as they
  /// were) and reads back as fp32; resuming with another precision is refused.
  func testComputePrecisionRoundTripsAndMustMatchOnResume() throws {
    var int8 = header()
    int8.compute = "int8"
    let path = directory.appendingPathComponent("c.h5").path
    let writer = try ActivationWriter.create(path: path, header: int8)
    try writer.append(example(0, tokens: 3))
    try writer.close()
    XCTAssertEqual(try ActivationReader(path: path).header.compute, "int8")
    XCTAssertThrowsError(try ActivationWriter.resume(path: path, expecting: header())) { error in
      XCTAssertTrue("\(error)".contains("compute"), "\(error)")
    }
    let plain = directory.appendingPathComponent("p.h5").path
    let fp32 = try ActivationWriter.create(path: plain, header: header())
    try fp32.close()
    XCTAssertEqual(try ActivationReader(path: plain).header.compute, "fp32")
    let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: plain)), as: UTF8.self)
    XCTAssertFalse(text.contains("compute"))
  }

  func testFloat16WithGzipStoresHalfPrecision() throws {
    let path = directory.appendingPathComponent("h.h5").path
    let writer = try ActivationWriter.create(
      path: path, header: header(storage: "float16"), options: StorageOptions(float16: true, gzip: 4, chunkRows: 16))
    let e = example(3, tokens: 40)
    try writer.append(e)
    try writer.close()
    let stored = try ActivationReader(path: path).base(layer: 3)
    for (a, b) in zip(stored, e.base[3]!) { XCTAssertEqual(a, Float(Float16(b))) }
  }

  func testResumeContinuesAfterTheLastCommittedExample() throws {
    let path = directory.appendingPathComponent("r.h5").path
    let first = try ActivationWriter.create(path: path, header: header())
    try first.append(example(0, tokens: 4))
    try first.append(example(1, tokens: 6))
    try first.close()
    let resumed = try ActivationWriter.resume(path: path, expecting: header())
    XCTAssertEqual(resumed.exampleCount, 2)
    try resumed.append(example(2, tokens: 3))
    try resumed.close()
    let reader = try ActivationReader(path: path)
    XCTAssertEqual(reader.tokenOffsets, [0, 4, 10, 13])
    XCTAssertEqual(try reader.delta(layer: 10, rows: 10..<13), example(2, tokens: 3).delta[10])
  }

  /// A capture whose examples carry their own steering prompts records them in
  /// /examples/steering_prompt, keeps them across a resume, and refuses to resume as the other kind.
  func testPerExampleSteeringPromptsRoundTripAndResume() throws {
    let path = directory.appendingPathComponent("p.h5").path
    var h = header()
    h.steeringPromptPerExample = true
    let prompts = ["Be a pirate.", "Talk like a pirate — arr!", "Speak as a ship's captain."]
    let first = try ActivationWriter.create(path: path, header: h)
    for i in 0..<2 {
      var e = example(i, tokens: 3)
      e.steeringPrompt = prompts[i]
      try first.append(e)
    }
    try first.close()
    XCTAssertThrowsError(try ActivationWriter.resume(path: path, expecting: header())) { error in
      XCTAssertEqual(
        error as? StoreError, .mismatch(path: path, field: "steering_prompt_per_example", found: "true", expected: "false"))
    }
    let resumed = try ActivationWriter.resume(path: path, expecting: h)
    var e = example(2, tokens: 2)
    e.steeringPrompt = prompts[2]
    try resumed.append(e)
    try resumed.close()
    let reader = try ActivationReader(path: path)
    XCTAssertEqual(reader.header, h)
    XCTAssertEqual(try reader.steeringPrompts(), prompts)
    XCTAssertEqual(try reader.steeringPrompts(1..<2), [prompts[1]])
    // A file with one prompt for all answers the header's for every example.
    let plain = directory.appendingPathComponent("q.h5").path
    let writer = try ActivationWriter.create(path: plain, header: header())
    try writer.append(example(0, tokens: 2))
    try writer.close()
    XCTAssertEqual(try ActivationReader(path: plain).steeringPrompts(), ["Be a pirate."])
  }

  func testMismatchedResumeAndCorruptFilesAreRejected() throws {
    let path = directory.appendingPathComponent("m.h5").path
    try ActivationWriter.create(path: path, header: header()).close()
    var other = header()
    other.steeringPrompt = "Be a poet."
    XCTAssertThrowsError(try ActivationWriter.resume(path: path, expecting: other)) { error in
      XCTAssertEqual(error as? StoreError, .mismatch(path: path, field: "steering_prompt", found: "Be a pirate.", expected: "Be a poet."))
    }
    let junk = directory.appendingPathComponent("junk.h5").path
    try Data((0..<4096).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: junk))
    XCTAssertThrowsError(try ActivationReader(path: junk)) { XCTAssertTrue("\($0)".contains("not an HDF5 file")) }
    // A truncated HDF5 file.
    let full = try Data(contentsOf: URL(fileURLWithPath: path))
    let cut = directory.appendingPathComponent("cut.h5").path
    try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: cut))
    XCTAssertThrowsError(try ActivationReader(path: cut))
    XCTAssertThrowsError(
      try ActivationWriter.create(path: path, header: header()).append(
        CapturedExample(instruction: "", response: "", tokens: [1], base: [:], delta: [:])))
  }
}
