import ArgumentParser
import Foundation
import LM

/// The model to load, shared by every subcommand.
public struct ModelOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "A GGUF file or a Hugging Face model directory (config.json, safetensors, tokenizer.json) of a llama, qwen2, qwen3 or gemma2 model (default: $PSR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf).",
      valueName: "path"))
  public var model: String?

  public init() {}

  public static let defaultRelativePath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

  /// The file to load: the flag, then the environment, then the default beside the working
  /// directory or beside the executable's checkout.
  public var resolvedPath: String {
    if let model { return model }
    if let env = ProcessInfo.processInfo.environment["PSR_MODEL"], !env.isEmpty { return env }
    let candidates = [
      FileManager.default.currentDirectoryPath + "/" + Self.defaultRelativePath,
      URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("../../\(Self.defaultRelativePath)").standardized.path,
    ]
    return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
  }

  public func load() throws -> DecoderModel {
    let path = resolvedPath
    guard FileManager.default.fileExists(atPath: path) else {
      throw ValidationError("model \(path) does not exist; run scripts/setup.sh or pass --model")
    }
    do {
      return try DecoderModel(path: path)
    } catch let error as CustomStringConvertible {
      throw ValidationError("\(path): \(error)")
    }
  }
}
