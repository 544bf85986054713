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

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Render prompts with this built-in chat template instead of the one detected in the model's files: chatml, qwen3, llama3, gemma or mistral.",
      valueName: "name"))
  public var chatTemplate: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "How to hold the weights: fp32 (a 4-byte copy of each, fastest for small models), native (the file's own blocks, memory-mapped, expanded per product; what fits 7–8B models in 24 GB) or auto (fp32 up to 1B parameters).",
      valueName: "fp32|native|auto"))
  public var weights: String = "auto"

  public func validate() throws {
    guard weights == "auto" || WeightPrecision(rawValue: weights) != nil else {
      throw ValidationError("--weights must be fp32, native or auto, not '\(weights)'")
    }
  }

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
      return try DecoderModel(path: path, weights: WeightPrecision(rawValue: weights), chatTemplate: chatTemplate)
    } catch let error as ChatTemplateError {
      throw ValidationError("\(error)")
    } catch let error as CustomStringConvertible {
      throw ValidationError("\(path): \(error)")
    }
  }
}
