import Foundation
import XCTest

/// Runs one of the package's release executables, as a user would from a shell.
public enum CommandLineTool {
  /// Runs `.build/release/<tool>` in `directory`; a run past `timeout` is terminated and fails the
  /// test. Both outputs are drained while it runs, so a chatty tool cannot block on a full pipe.
  public static func run(
    _ tool: String, _ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 60
  ) throws -> (status: Int32, stdout: String, stderr: String) {
    let executable = Fixtures.packageRoot.appendingPathComponent(".build/release/\(tool)").path
    guard FileManager.default.fileExists(atPath: executable) else {
      throw FixtureError("\(executable) is missing; build with swift build -c release")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let drained = [out, err].map { pipe in
      let box = DrainedOutput()
      box.thread = Thread { box.data = pipe.fileHandleForReading.readDataToEndOfFile() }
      box.thread.start()
      return box
    }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
      p.terminate()
      XCTFail("\(tool) \(arguments) hung")
    }
    p.waitUntilExit()
    for box in drained { while !box.thread.isFinished { usleep(1_000) } }
    return (p.terminationStatus, String(decoding: drained[0].data, as: UTF8.self), String(decoding: drained[1].data, as: UTF8.self))
  }
}

/// One pipe's bytes, filled by its reading thread before that thread finishes.
///
/// Sendable by hand: `data` is written by the reading thread only, and read after it finished.
private final class DrainedOutput: @unchecked Sendable {
  var thread = Thread {}
  var data = Data()
}
