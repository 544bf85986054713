import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering

/// `psr export` (also `psr sv export`): a steering file out to llama.cpp or PyTorch.
public struct Export: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Export a steering file as a llama.cpp control vector (GGUF) or as safetensors for PyTorch.",
    discussion: """
      --format gguf writes a llama.cpp control vector: constant vectors applied at every position \
      (FSSV, DiffMean, Const-MSE, imported control vectors), one direction.N holding α·v per layer N \
      (llama.cpp's --control-vector), with controlvector.model_hint from the model's architecture.
      --format safetensors writes any steering file, PSR gates (w, b, z, α per layer) and PrOSV's \
      prompt-position vectors included, with __metadata__ saying how to apply them; \
      scripts/apply_steering_torch.py applies one to a transformers model with forward hooks. The \
      steering file must have been made with --model (its layers are checked against it).

      Examples:
        psr export --format gguf evil.diffmean.json
        psr export --format safetensors pirate.psr --out pirate.psr.safetensors
        python scripts/apply_steering_torch.py --model HF_DIR --steering pirate.psr.safetensors --prompt "Hi"
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "gguf (llama.cpp control vector) or safetensors (PyTorch).") public var format = ExportFormat.gguf
  @Argument(help: "Steering file.") var file: String
  @Option(help: "Multiplies the file's α in what is written.") var factor: Float = 1
  @Option(help: "Output path (default: the input with .gguf or .safetensors).") var out: String?

  public func validate() throws {
    try Check.finite(factor, "--factor")
    try Check.outputFile(out, "--out")
  }

  public func run() throws {
    let model = try modelOptions.load()
    let steering = try SteeringFile.load(file, for: model)
    do {
      _ = try steering.intervention(for: model, file: file)
    } catch let error as CustomStringConvertible { throw CLIError("\(error)") }
    let stem = file.hasSuffix(".json") ? String(file.dropLast(5)) : file
    let path = out ?? stem + "." + format.rawValue
    do {
      switch format {
      case .gguf:
        try ControlVectorExport.gguf(steering, modelHint: model.configuration.family.llamaCppArchitecture, factor: factor).write(to: path)
      case .safetensors:
        try SafetensorsExport.writer(steering, factor: factor).write(to: path)
      }
    } catch let error as SteeringFileError {
      throw CLIError("\(file): \(error)")
    }
    log("wrote \(path)")
  }
}
