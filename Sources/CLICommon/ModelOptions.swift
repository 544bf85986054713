import ArgumentParser
import Foundation
import LM
import Synchronization
import Tensor

/// The model to load, shared by every subcommand.
public struct ModelOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "A GGUF file or a Hugging Face model directory (config.json, safetensors, tokenizer.json) of a \(ModelFamily.supportedList) model (default: $PSR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf).",
      valueName: "path"))
  public var model: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Render prompts with this built-in chat template instead of the one detected in the model's files: chatml, qwen3, llama3, gemma, gemma3, phi3 or mistral.",
      valueName: "name"))
  public var chatTemplate: ChatTemplate.Style?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "How to hold the weights: fp32 (a 4-byte copy of each, fastest for small models), native (the file's own blocks, memory-mapped, expanded per product; what fits 7–8B models in 24 GB) or auto (native; on a CPU without AVX-512, fp32 up to 1B parameters).",
      valueName: "fp32|native|auto"))
  public var weights: WeightsChoice = .auto

  @Option(
    name: .long,
    help: ArgumentHelp(
      "What the products multiply with: fp32 (the reference: every weight expanded to fp32), int8 (activations quantized to 8 bits per block, as llama.cpp does, for quantized weights: per 256 values for K-quants, per 32 for Q4_0–Q8_0; in a pass that training differentiates, q, k, v and down and the input gradients run bf16 where the CPU has it; AVX-512 VNNI CPUs only, fp32 elsewhere), bf16 (PyTorch's CPU autocast: both operands rounded to bf16, fp32 sums, in every many-row product (training, capture, prefill) and in every product of float weights; AVX512_BF16 CPUs only, fp32 elsewhere) or auto (in generate and serve, which only produce text, what measured fastest on the model's weights: int8 where its projections are quantized, bf16 where all are float (F32, F16, BF16 files, Hugging Face checkpoints); generate with --steer runs the precision the steering file was trained with, so that it replays that run; fp32 where a command trains, captures, scores or benchmarks, since a compare run at int8 is not yet shown within the noise of fp32's: docs/PRECISION.md).",
      valueName: "fp32|int8|bf16|auto"))
  public var compute: ComputeChoice = .auto

  /// `--compute`: a precision, or auto.
  public enum ComputeChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case fp32, int8, bf16, auto
  }

  /// `--weights`: a precision, or auto (chosen by the model's size).
  public enum WeightsChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case fp32, native, auto
    var precision: WeightPrecision? { WeightPrecision(rawValue: rawValue) }
  }

  public func validate() throws {
    if let model, model.isEmpty { throw ValidationError("--model is empty") }
  }

  public init() {}

  /// Whether the fallback from int8 or bf16 was said (once a process).
  private static let saidNoInt8 = Atomic<Bool>(false)
  private static let saidNoBF16 = Atomic<Bool>(false)

  public static let defaultRelativePath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

  /// The file to load: the flag, then the environment, then the default beside the working
  /// directory or in the executable's checkout (``resolvePath(_:)``).
  public var resolvedPath: String {
    if let model { return model }
    if let env = ProcessInfo.processInfo.environment["PSR_MODEL"], !env.isEmpty { return env }
    return resolvePath(Self.defaultRelativePath)
  }

  /// What `--compute auto` runs in a command whose output is text only, for this model
  /// (``DecoderModel/automaticTextCompute(path:)``: int8 for quantized projections, bf16 for float).
  public var textCompute: ComputePrecision { DecoderModel.automaticTextCompute(path: resolvedPath) }

  /// Loads the model; `--compute auto` becomes `automaticCompute` (for commands that only
  /// generate text ``DecoderModel/automaticTextCompute(path:)``, fp32 elsewhere).
  public func load(automaticCompute: ComputePrecision = .fp32) throws -> DecoderModel {
    let path = resolvedPath
    guard FileManager.default.fileExists(atPath: path) else {
      throw CLIError("model \(path) does not exist; run scripts/setup.sh or pass --model")
    }
    do {
      let model = try DecoderModel(
        path: path, weights: weights.precision, chatTemplate: chatTemplate?.rawValue,
        compute: ComputePrecision(rawValue: compute.rawValue) ?? automaticCompute)
      if compute == .int8, model.computePrecision != .int8, Self.saidNoInt8.exchange(true, ordering: .relaxed) == false {
        log("--compute int8: this CPU lacks AVX-512 VNNI, so the products run in fp32")
      }
      if compute == .bf16, model.computePrecision != .bf16, Self.saidNoBF16.exchange(true, ordering: .relaxed) == false {
        log("--compute bf16: this CPU lacks AVX512_BF16, so the products run in fp32")
      }
      return model
    } catch let error as ChatTemplateError {
      throw CLIError("\(error)")
    } catch let error as CustomStringConvertible {
      let text = "\(error)"
      throw CLIError(text.hasPrefix(path) ? text : "\(path): \(text)")
    }
  }
}

extension ChatTemplate.Style: ExpressibleByArgument {}
