import ArgumentParser
import Foundation
import LM

/// The model to load, shared by every subcommand.
public struct ModelOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "A GGUF file or a Hugging Face model directory (config.json, safetensors, tokenizer.json) of a llama, qwen2, qwen3, gemma2, gemma3, phi3, qwen3moe or mixtral model (default: $PSR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf).",
      valueName: "path"))
  public var model: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Render prompts with this built-in chat template instead of the one detected in the model's files: chatml, qwen3, llama3, gemma or mistral.",
      valueName: "name"))
  public var chatTemplate: ChatTemplate.Style?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "How to hold the weights: fp32 (a 4-byte copy of each, fastest for small models), native (the file's own blocks, memory-mapped, expanded per product; what fits 7–8B models in 24 GB) or auto (native; on a CPU without AVX-512, fp32 up to 1B parameters).",
      valueName: "fp32|native|auto"))
  public var weights: WeightsChoice = .auto

  /// `--weights`: a precision, or auto (chosen by the model's size).
  public enum WeightsChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case fp32, native, auto
    var precision: WeightPrecision? { WeightPrecision(rawValue: rawValue) }
  }

  public func validate() throws {
    if let model, model.isEmpty { throw ValidationError("--model is empty") }
  }

  public init() {}

  public static let defaultRelativePath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

  /// The file to load: the flag, then the environment, then the default beside the working
  /// directory or in the executable's checkout (``resolvePath(_:)``).
  public var resolvedPath: String {
    if let model { return model }
    if let env = ProcessInfo.processInfo.environment["PSR_MODEL"], !env.isEmpty { return env }
    return resolvePath(Self.defaultRelativePath)
  }

  public func load() throws -> DecoderModel {
    let path = resolvedPath
    guard FileManager.default.fileExists(atPath: path) else {
      throw CLIError("model \(path) does not exist; run scripts/setup.sh or pass --model")
    }
    do {
      return try DecoderModel(path: path, weights: weights.precision, chatTemplate: chatTemplate?.rawValue)
    } catch let error as ChatTemplateError {
      throw CLIError("\(error)")
    } catch let error as CustomStringConvertible {
      let text = "\(error)"
      throw CLIError(text.hasPrefix(path) ? text : "\(path): \(text)")
    }
  }
}

extension ChatTemplate.Style: ExpressibleByArgument {}
