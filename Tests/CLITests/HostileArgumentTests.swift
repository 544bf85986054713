import Foundation
import TestSupport
import XCTest

/// Hostile and mistaken arguments against the real executables: each must stop before any work
/// with a non-zero exit and one "Error:" line naming what to fix — never a crash, a hang or a
/// silent success. Validation runs before the model loads, so each case takes milliseconds.
final class HostileArgumentTests: TemporaryDirectoryTestCase {
  private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
    let result = try CommandLineTool.run(tool, arguments, in: directory)
    return (result.status, result.stderr)
  }

  /// Runs `arguments` and expects a clean refusal whose error mentions `mentioning`.
  private func assertRefused(_ tool: String, _ arguments: [String], mentioning: String, line: UInt = #line) throws {
    let (status, stderr) = try run(tool, arguments)
    XCTAssertNotEqual(status, 0, "\(tool) \(arguments) exited 0", line: line)
    XCTAssertFalse([SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS].contains(status), "\(tool) \(arguments) crashed: \(stderr)", line: line)
    let errorLine = stderr.split(separator: "\n").first { $0.hasPrefix("Error:") }
    XCTAssertNotNil(errorLine, "\(tool) \(arguments): no Error: line in \(stderr)", line: line)
    XCTAssertTrue(stderr.contains(mentioning), "\(tool) \(arguments): '\(stderr)' does not mention \(mentioning)", line: line)
  }

  func testNegativeCountsAreRefusedInBothForms() throws {
    let capture = ["--prompt-file", "p.txt", "--inputs", "x.txt", "--layers", "3", "--out", "o.h5"]
    for form in ["--limit=-1", "--limit -1"] {
      try assertRefused("capture", capture + form.split(separator: " ").map(String.init), mentioning: "--limit")
    }
    try assertRefused("capture", capture + ["--max-new-tokens", "-5"], mentioning: "--max-new-tokens")
    try assertRefused("capture", capture + ["--batch-size=0"], mentioning: "--batch-size")
    try assertRefused("compare", ["--concepts=-1"], mentioning: "--concepts")
    try assertRefused("compare", ["--train-samples", "-3"], mentioning: "--train-samples")
    try assertRefused("compare", ["--gsm8k-problems", "0"], mentioning: "--gsm8k-problems")
    try assertRefused("compare", ["--reference-answers=-4"], mentioning: "--reference-answers")
    try assertRefused("psr", ["tune-alpha", "--steer", "s.json", "--data", "d.h5", "--examples=-1"], mentioning: "--examples")
    try assertRefused("psr", ["tune-alpha", "--steer", "s.json", "--data", "d.h5", "--steps", "-1"], mentioning: "--steps")
    try assertRefused(
      "psr", ["sv", "train", "--kind", "fssv", "--layer", "3", "--data", "d", "--out", "o", "--max-response-tokens=-2"],
      mentioning: "--max-response-tokens")
    try assertRefused("psr", ["bench", "--prefill-tokens=-1"], mentioning: "--prefill-tokens")
    try assertRefused("psr", ["bench", "--decode-tokens", "-1"], mentioning: "--decode-tokens")
    try assertRefused("psr", ["bench", "--only", "prefil"], mentioning: "prefil")
  }

  func testNonFiniteAndOutOfRangeNumbersAreRefused() throws {
    for value in ["nan", "inf", "-inf", "-1"] {
      try assertRefused("psr", ["generate", "--prompt", "Hi", "--temperature", value], mentioning: "--temperature")
    }
    try assertRefused("psr", ["generate", "--prompt", "Hi", "--factor", "nan"], mentioning: "--factor")
    try assertRefused("psr", ["fit", "--data", "d.h5", "--layer", "3", "--out", "o", "--epochs", "-2"], mentioning: "--epochs")
    try assertRefused(
      "psr", ["fit", "--data", "d.h5", "--layer", "3", "--out", "o", "--learning-rate", "-0.1"], mentioning: "--learning-rate")
    try assertRefused(
      "psr", ["fit", "--data", "d.h5", "--layer", "3", "--out", "o", "--validation-fraction", "nan"], mentioning: "--validation-fraction")
    try assertRefused("compare", ["--factors", "abc"], mentioning: "abc")
    try assertRefused("compare", ["--judge-timeout", "nan"], mentioning: "--judge-timeout")
    let train = ["sv", "train", "--kind", "prosv", "--layer", "3", "--data", "d", "--out", "o"]
    try assertRefused("psr", train + ["--objective", "simpo", "--simpo-beta", "nan"], mentioning: "--simpo-beta")
    try assertRefused("psr", train + ["--objective", "simpo", "--simpo-scaler", "-1"], mentioning: "--simpo-scaler")
    try assertRefused("psr", train + ["--simpo-gamma", "0.5"], mentioning: "--objective simpo")
    try assertRefused("psr", train + ["--objective", "dpo"], mentioning: "dpo")
  }

  func testEmptyAndUnknownListsAreRefused() throws {
    try assertRefused("compare", ["--bench", ""], mentioning: "--bench")
    try assertRefused("compare", ["--methods", ""], mentioning: "--methods")
    try assertRefused("compare", ["--methods", "psr,,none"], mentioning: "--methods")
    try assertRefused("compare", ["--bench", "axbench,persna"], mentioning: "persna")
    try assertRefused("capture", ["--prompt-file", "p", "--inputs", "x", "--layers", "3,x", "--out", "o.h5"], mentioning: "'x'")
    try assertRefused("capture", ["--prompt-file", "p", "--inputs", "x", "--layers", "", "--out", "o.h5"], mentioning: "--layers")
    try assertRefused("psr", ["fit", "--data", "d.h5", "--layers", "3,-4", "--variant", "all", "--out", "o"], mentioning: "'-4'")
    try assertRefused("psr", ["generate", "--prompt", "Hi", "--chat-template", "vicuna"], mentioning: "--chat-template")
  }

  func testOutputsThatCannotBeWrittenAreRefusedBeforeTheWork() throws {
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("adir"), withIntermediateDirectories: true)
    for out in ["no-such-dir/o.psr", "adir"] {
      try assertRefused("psr", ["fit", "--data", "d.h5", "--layer", "3", "--out", out], mentioning: "--out \(out)")
      try assertRefused(
        "psr", ["sv", "train", "--kind", "fssv", "--layer", "3", "--data", "d", "--out", out], mentioning: "--out \(out)")
      try assertRefused(
        "capture", ["--prompt-file", "p", "--inputs", "x", "--layers", "3", "--out", out], mentioning: "--out \(out)")
      try assertRefused("psr", ["report", "--data", "d.h5", "--out", out], mentioning: "--out \(out)")
      try assertRefused("psr", ["export", "s.json", "--out", out], mentioning: "--out \(out)")
    }
  }

  func testRuntimeFailuresAreErrorsNotUsage() throws {
    // Past validation: the file is missing. The message must not be the usage text.
    let (status, stderr) = try run("psr", ["fit", "--data", "missing.h5", "--layer", "3", "--out", "o"])
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(stderr.contains("missing.h5"), stderr)
    XCTAssertFalse(stderr.contains("USAGE"), stderr)
    try assertRefused("compare", ["merge", "no-such-dir", "--out", "merged"], mentioning: "no-such-dir")
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("merged/results.json").path))
  }

  func testOpenAIJudgeDoesNotLoadTheLanguageModel() throws {
    let line = #"{"instruction": "Hi", "response": "Hello", "concept": "greetings"}"#
    try Data((line + "\n").utf8).write(to: directory.appendingPathComponent("one.jsonl"))
    // A model path that does not exist: only the unreachable server can be the error.
    let (status, stderr) = try run(
      "compare",
      [
        "judge", "--input", "one.jsonl", "--model", "/nonexistent/model.gguf", "--judge", "openai", "--judge-url",
        "http://127.0.0.1:9/v1", "--judge-model", "m", "--judge-retries", "0", "--judge-cache", "cache.jsonl",
      ])
    XCTAssertNotEqual(status, 0)
    XCTAssertFalse(stderr.contains("/nonexistent/model.gguf"), stderr)
    XCTAssertTrue(stderr.contains("127.0.0.1:9"), stderr)
  }

  func testEmptyJudgeInputIsAnError() throws {
    try Data().write(to: directory.appendingPathComponent("empty.jsonl"))
    try assertRefused("compare", ["judge", "--input", "empty.jsonl"], mentioning: "empty.jsonl")
  }

  func testGenerationBeyondTheContextIsAClearError() throws {
    try assertRefused(
      "psr", ["generate", "--model", Fixtures.modelPath, "--prompt", "Hi", "--max-tokens", "1000000"], mentioning: "context")
  }
}

/// Activation files on which libhdf5 1.10 itself loops or crashes (found by fuzzing, fuzz/hangs/hdf5
/// and fuzz/crashes/hdf5): the reader's probe turns each into one error line and status 1.
final class HDF5HangTests: TemporaryDirectoryTestCase {
  func testLibraryCrashIsOneErrorLine() throws {
    let p = Process()
    p.executableURL = Fixtures.packageRoot.appendingPathComponent(".build/release/psr")
    p.arguments = [
      "fit", "--data", Fixtures.packageRoot.appendingPathComponent("fuzz/crashes/hdf5/libhdf5-segfault-in-H5HG_read").path,
      "--layer", "0", "--out", directory.appendingPathComponent("o.psr").path,
    ]
    let err = Pipe()
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(p.terminationStatus, 1)
    XCTAssertEqual(message.split(separator: "\n").count, 1, message)
    XCTAssertTrue(message.contains("the HDF5 library crashed reading it"), message)
  }

  func testLibraryHangsBecomeErrors() throws {
    let dir = Fixtures.packageRoot.appendingPathComponent("fuzz/hangs/hdf5")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    XCTAssertFalse(names.isEmpty)
    for name in names {
      let p = Process()
      p.executableURL = Fixtures.packageRoot.appendingPathComponent(".build/release/psr")
      p.arguments = [
        "fit", "--data", dir.appendingPathComponent(name).path, "--layer", "0", "--out", directory.appendingPathComponent("o.psr").path,
      ]
      let err = Pipe()
      p.standardError = err
      let started = Date()
      try p.run()
      p.waitUntilExit()
      let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      XCTAssertEqual(p.terminationStatus, 1, message)
      XCTAssertTrue(message.hasPrefix("Error: ") && message.contains("did not finish reading"), message)
      XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }
  }
}
