import Foundation
import LM

/// Paths to the files tests read: the reference data committed under Tests/Fixtures and
/// the model that scripts/setup.sh fetches into models/.
public enum Fixtures {
  public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  public static func url(_ relative: String) -> URL {
    packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
  }

  /// Each line of a JSON Lines fixture, decoded as a dictionary.
  public static func jsonLines(_ relative: String) throws -> [[String: Any]] {
    let text = try String(contentsOf: url(relative), encoding: .utf8)
    return try text.split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
  }

  /// Unpacks a .tar.gz fixture into a new temporary directory and returns that directory, which
  /// is removed when the test process exits. (Model files are kept packed: the repository keeps
  /// .gguf and .safetensors names out of git.)
  public static func unpack(_ relative: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("psr-fixture-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    removedAtExit(directory)
    try unpack(relative, into: directory)
    return directory
  }

  /// Directories that `unpack` made (about 8 MB each for the quantization fixtures; a full test
  /// run made 18), removed by an exit handler so that repeated runs do not fill /tmp.
  nonisolated(unsafe) private static var madeDirectories: [String] = []
  private static let madeLock = NSLock()
  private static let cleanup: Void = {
    atexit {
      for directory in Fixtures.madeDirectories { try? FileManager.default.removeItem(atPath: directory) }
    }
  }()

  private static func removedAtExit(_ directory: String) {
    madeLock.lock()
    defer { madeLock.unlock() }
    _ = cleanup
    madeDirectories.append(directory)
  }

  /// The GGUF files of every tensor type made by llama.cpp's quantizer, with gguf-py's
  /// reference.json: quants.tar.gz and quants-more.tar.gz (two archives, each under 5 MB)
  /// unpacked into one fresh `quants` directory, whose path this returns.
  public static func quantFiles() throws -> String {
    let directory = try unpack("quants.tar.gz")
    try unpack("quants-more.tar.gz", into: directory)
    return directory + "/quants"
  }

  private static func unpack(_ relative: String, into directory: String) throws {
    let archive = url(relative).path
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    tar.arguments = ["tar", "-xzf", archive, "-C", directory]
    try tar.run()
    tar.waitUntilExit()
    guard tar.terminationStatus == 0 else { throw FixtureError("cannot unpack \(archive)") }
  }

  nonisolated(unsafe) private static var unpacked: [String: String] = [:]
  private static let unpackLock = NSLock()

  /// `unpack(_:)` once per process; later calls return the same directory.
  public static func unpackedOnce(_ relative: String) throws -> String {
    unpackLock.lock()
    defer { unpackLock.unlock() }
    if let directory = unpacked[relative] { return directory }
    let directory = try unpack(relative)
    unpacked[relative] = directory
    return directory
  }

  /// The llama.cpp control vector for the default model (control-vectors/smollm2.cvec.tar.gz).
  public static func controlVector() throws -> String {
    try unpackedOnce("control-vectors/smollm2.cvec.tar.gz") + "/smollm2.cvec.gguf"
  }

  /// The default model: $PSR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf.
  public static var modelPath: String {
    if let env = ProcessInfo.processInfo.environment["PSR_MODEL"], !env.isEmpty { return env }
    return packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
  }

  nonisolated(unsafe) private static var loaded: DecoderModel?
  private static let lock = NSLock()

  /// The default model, loaded once per test process. Fails (never skips) when it is
  /// missing: run scripts/setup.sh first.
  public static func model() throws -> DecoderModel {
    lock.lock()
    defer { lock.unlock() }
    if let loaded { return loaded }
    guard FileManager.default.fileExists(atPath: modelPath) else {
      throw FixtureError("model \(modelPath) is missing; run scripts/setup.sh")
    }
    let m = try DecoderModel(path: modelPath)
    loaded = m
    return m
  }
}

public struct FixtureError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Reads the residual stream after chosen layers without changing it.
public final class Recorder: Intervention {
  public let layers: Set<Int>
  public private(set) var states: [Int: [[Float]]] = [:]

  public init(layers: Set<Int>) { self.layers = layers }

  public func edit(layer: Int, hidden: HiddenStates) {
    states[layer] = (0..<hidden.rows).map { Array(UnsafeBufferPointer(start: hidden.row($0), count: hidden.width)) }
  }
}

extension Array where Element == Float {
  public var norm: Float { (reduce(0) { $0 + $1 * $1 }).squareRoot() }
}
