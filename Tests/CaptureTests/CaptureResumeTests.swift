import Foundation
import Store
import Synchronization
import TestSupport
import XCTest

/// Runs the real `capture` executable, kills it mid-run, resumes, and compares with an
/// uninterrupted run.
final class CaptureResumeTests: TemporaryDirectoryTestCase {
  private let executable = Fixtures.packageRoot.appendingPathComponent(".build/release/capture").path

  override func setUpWithError() throws {
    try super.setUpWithError()
    guard FileManager.default.fileExists(atPath: executable) else {
      throw FixtureError("\(executable) is missing; build with swift build -c release")
    }
    try "Answer like a pirate.".write(to: directory.appendingPathComponent("p.txt"), atomically: true, encoding: .utf8)
    let questions = (0..<10).map { "Question number \($0): what do you think of the number \($0 * 7)?" }
    try questions.joined(separator: "\n").write(to: directory.appendingPathComponent("x.txt"), atomically: true, encoding: .utf8)
  }

  private func arguments(_ out: String, resume: Bool) -> [String] {
    [
      "--model", Fixtures.modelPath, "--prompt-file", directory.appendingPathComponent("p.txt").path, "--inputs",
      directory.appendingPathComponent("x.txt").path, "--layers", "3,12", "--out", out, "--max-new-tokens", "16",
      "--batch-size", "2", "--seed", "5", "--gzip", "1",
    ] + (resume ? ["--resume"] : [])
  }

  private func process(_ out: String, resume: Bool) -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments(out, resume: resume)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    return p
  }

  private func contents(_ path: String) throws -> [String] {
    let r = try ActivationReader(path: path)
    var parts = [r.tokenOffsets.description, try r.instructions().description, try r.responses().description, try r.tokens().description]
    for l in r.header.layers {
      parts.append(try r.base(layer: l).description)
      parts.append(try r.delta(layer: l).description)
    }
    return parts
  }

  /// The capture run to its end without interruption; returns its file.
  private func uninterruptedRun() throws -> String {
    let reference = directory.appendingPathComponent("reference.h5").path
    let full = process(reference, resume: false)
    try full.run()
    full.waitUntilExit()
    XCTAssertEqual(full.terminationStatus, 0)
    return reference
  }

  func testResumeAfterKillEqualsUninterruptedRun() throws {
    let reference = try uninterruptedRun()

    let out = directory.appendingPathComponent("resumed.h5").path
    let partial = out + ".partial"
    let first = process(out, resume: false)
    // The writer holds the HDF5 file lock, so watch its progress bar instead of the file.
    let pipe = Pipe()
    first.standardError = pipe
    let seen = LockedText()
    pipe.fileHandleForReading.readabilityHandler = { seen.append($0.availableData) }
    try first.run()
    // Kill once at least one batch is committed.
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline && !seen.text.contains("] 2/10") { usleep(20_000) }
    pipe.fileHandleForReading.readabilityHandler = nil
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no file under the final name before completion")
    XCTAssertTrue(FileManager.default.fileExists(atPath: partial))
    let done = try ActivationReader(path: partial).exampleCount
    XCTAssertLessThan(done, 10, "the kill came before the end")

    let second = process(out, resume: true)
    try second.run()
    second.waitUntilExit()
    XCTAssertEqual(second.terminationStatus, 0)
    XCTAssertFalse(FileManager.default.fileExists(atPath: partial))
    XCTAssertEqual(try contents(out), try contents(reference))
  }

  /// A disk that fills mid-capture, made by a file-size limit on the process (`ulimit -f`, with
  /// SIGXFSZ ignored so that writes fail with EFBIG as on a full disk): the capture stops with one
  /// error line, keeps what it committed, and a resume once there is room equals an
  /// uninterrupted run.
  func testResumeAfterFullDiskEqualsUninterruptedRun() throws {
    let reference = try uninterruptedRun()
    let size = try FileManager.default.attributesOfItem(atPath: reference)[.size] as! Int

    let out = directory.appendingPathComponent("disk-full.h5").path
    let limited = Process()
    limited.executableURL = URL(fileURLWithPath: "/bin/bash")
    let quoted = ([executable] + arguments(out, resume: false)).map { "'\($0)'" }.joined(separator: " ")
    // The writer reserves about 4 MiB beyond its allocation before each example: the limit lets
    // some examples in and stops a later one.
    limited.arguments = ["-c", "trap '' XFSZ; ulimit -f \((4 << 10) + size * 6 / 10 / 1024); exec \(quoted)"]
    let errors = Pipe()
    limited.standardError = errors
    limited.standardOutput = FileHandle.nullDevice
    try limited.run()
    limited.waitUntilExit()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(limited.terminationStatus, 1, "an error exit, not a crash: \(message)")
    XCTAssertTrue(message.contains("Error:") && message.contains("File too large"), message)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    let committed = try ActivationReader(path: out + ".partial").exampleCount
    XCTAssertGreaterThan(committed, 0, "the disk filled mid-run")
    XCTAssertLessThan(committed, 10)

    let second = process(out, resume: true)
    try second.run()
    second.waitUntilExit()
    XCTAssertEqual(second.terminationStatus, 0)
    XCTAssertEqual(try contents(out), try contents(reference))
  }

  func testExistingOutputNeedsResumeOrOverwrite() throws {
    let out = directory.appendingPathComponent("exists.h5").path
    try Data("x".utf8).write(to: URL(fileURLWithPath: out))
    let p = process(out, resume: false)
    let pipe = Pipe()
    p.standardError = pipe
    try p.run()
    p.waitUntilExit()
    XCTAssertNotEqual(p.terminationStatus, 0)
    let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertTrue(message.contains("--resume"), message)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), Data("x".utf8), "the existing file is untouched")
  }
}

final class LockedText: Sendable {
  private let data = Mutex(Data())
  func append(_ d: Data) { data.withLock { $0.append(d) } }
  var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
