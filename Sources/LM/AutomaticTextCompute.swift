import Foundation
import Tensor

extension DecoderModel {
  /// What `--compute auto` runs where a command's output is text only (`psr generate`, `psr
  /// serve`): by the weight type of the model's projections, what measured fastest on it
  /// (experiments/bench, AMD EPYC Zen 4):
  /// - any projection quantized (Q4_0…Q8_0, Q4_K…Q6_K): `int8`. Single-stream decoding 1.14–1.41×
  ///   fp32 on the default Q4_1 file, 2–3× on Q4_K_M files, whose prefill it also doubles;
  /// - every projection float (F32, F16, BF16 files; Hugging Face checkpoints): `bf16`, which
  ///   `int8` would leave at fp32. Prefill about 1.5× fp32 on SmolLM2 as a bf16 checkpoint,
  ///   decoding the same (one row's product reads the weights; its bf16 form is as fast).
  ///
  /// Both keep a sequence's output the same alone or in a batch on native weights (the 8-bit
  /// products by construction, float rows because they run one bf16 product for any number of
  /// rows), which `psr serve` needs. A file that cannot be read gives `int8`; loading it then
  /// says why.
  public static func automaticTextCompute(path: String) -> ComputePrecision {
    if HuggingFaceCheckpoint.isCheckpoint(path) { return .bf16 }
    guard let gguf = try? GGUFFile(path: path) else { return .int8 }
    let projections = gguf.tensors.values.filter { $0.name.hasPrefix("blk.") && $0.dimensions.count >= 2 }
    return !projections.isEmpty && projections.allSatisfy { $0.type.blockSize == 1 } ? .bf16 : .int8
  }
}
