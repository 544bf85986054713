import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Steered serving: the server's default steering, a request's own choice (a steering file or a
/// llama.cpp control vector), and none; each answer equals `psr generate` with the same steering,
/// seed and temperature.
final class ServeSteeringTests: TemporaryDirectoryTestCase {
  private var server: Process?
  private let steering = Fixtures.packageRoot.appendingPathComponent("experiments/prosv/rental.prosv.json").path
  private let question = "What should I do this weekend?"

  override func tearDownWithError() throws {
    server?.terminate()
    server?.waitUntilExit()
    try super.tearDownWithError()
  }

  private func post(_ url: URL, _ body: [String: Any]) throws -> (status: Int, json: [String: Any]) {
    let (status, data) = try ServeProcess.call(url, "POST", "/chat/completions", body)
    return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
  }

  private func generate(_ extra: [String]) throws -> String {
    let p = Process()
    p.executableURL = Fixtures.packageRoot.appendingPathComponent(".build/release/psr")
    p.arguments =
      [
        "generate", "--model", Fixtures.modelPath, "--prompt", question, "--max-tokens", "12", "--temperature", "0.8", "--seed", "3",
        "--json",
      ]
      + extra
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["text"] as! String
  }

  private func text(_ json: [String: Any]) -> String? {
    ((json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
  }

  func testSteeredAnswersEqualGenerateWithTheSameSteering() throws {
    let dir = directory.appendingPathComponent("steering")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: steering, toPath: dir.appendingPathComponent("rental.json").path)
    let controlVector = try Fixtures.controlVector()
    try FileManager.default.copyItem(atPath: controlVector, toPath: dir.appendingPathComponent("sea.gguf").path)
    let (process, url) = try ServeProcess.start(["--max-tokens", "12", "--steer", steering + ":2", "--steer-dir", dir.path])
    server = process
    let base: [String: Any] = ["messages": [["role": "user", "content": question]], "temperature": 0.8, "seed": 3, "max_tokens": 12]

    let byDefault = try post(url, base)
    XCTAssertEqual(byDefault.status, 200)
    XCTAssertEqual((byDefault.json["steering"] as? [[String: Any]])?.first?["name"] as? String, "rental.prosv")
    XCTAssertEqual(text(byDefault.json), try generate(["--steer", steering, "--factor", "2"]))

    var chosen = base
    chosen["steering"] = [["name": "rental", "factor": 4]]
    let own = try post(url, chosen)
    XCTAssertEqual(own.status, 200)
    XCTAssertEqual(text(own.json), try generate(["--steer", steering, "--factor", "4"]))

    var sea = base
    sea["steering"] = [["name": "sea", "factor": 1.5]]
    let imported = try post(url, sea)
    XCTAssertEqual(imported.status, 200)
    XCTAssertEqual(text(imported.json), try generate(["--steer", controlVector, "--factor", "1.5"]))

    var none = base
    none["steering"] = [Any]()
    let plain = try post(url, none)
    XCTAssertEqual((plain.json["steering"] as? [Any])?.count, 0)
    XCTAssertEqual(text(plain.json), try generate([]))
    XCTAssertNotEqual(text(plain.json), text(own.json), "steering changes the answer")

    var unknown = base
    unknown["steering"] = [["name": "pirate"]]
    let refused = try post(url, unknown)
    XCTAssertEqual(refused.status, 400)
    XCTAssertEqual((refused.json["error"] as? [String: Any])?["param"] as? String, "steering")
  }
}
