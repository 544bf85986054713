import CKernels

/// What the products of quantized weights multiply their weights with.
///
/// - `fp32`: the activations as they are; every weight is expanded to fp32 (the reference path,
///   bit for bit what earlier versions computed).
/// - `int8`: the activations quantized to 8 bits with one fp32 scale per block and multiplied in
///   integers, as llama.cpp does: per 256 values (llama.cpp's q8_K: `d = −max/127`, round half to
///   even) for the K-quant weights (Q4_K, Q5_K, Q6_K), scaled once per super-block; per 32 values
///   (q8_0/q8_1) for the 32-weight block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), scaled once per
///   block. Each activation then carries a relative error of at most 1/254 of its block's largest
///   magnitude; docs/PRECISION.md measures what that does to logits and gradients. Float weights
///   (F32, F16, BF16) stay fp32. The input gradients of quantized weights (training's backward)
///   run bf16 where the CPU has it (``inputGradient(quantizedWeights:)``), and so do q, k, v and
///   down in the forward of a pass that training differentiates (``gradientPass``).
/// - `bf16`: PyTorch's CPU autocast semantics for the products of many rows (prefill, capture,
///   training's forward and backward): both operands rounded to bf16 (to nearest even, a relative
///   error of at most 2⁻⁹ each) where they are packed, exact products, fp32 sums (`vdpbf16ps`).
///   Norms, softmax, residuals, the steering hook and every reduction stay fp32, as do products
///   of few rows (decoding), which read weights rather than multiply. Any weight type.
public enum ComputePrecision: String, Codable, Sendable, CaseIterable {
  case fp32
  case int8
  case bf16

  /// Whether this CPU runs the 8-bit products (AVX-512 with VNNI); where it does not, `int8` runs
  /// the fp32 products.
  public static var int8IsSupported: Bool { psr_q8_gemm_supported() != 0 }

  /// Whether this CPU runs the bf16 products (AVX-512 with AVX512_BF16); where it does not, `bf16`
  /// runs the fp32 products.
  public static var bf16IsSupported: Bool { psr_bf16_gemm_supported() != 0 }

  /// What actually runs on this CPU when `self` is asked for.
  public var effective: ComputePrecision {
    switch self {
    case .fp32: .fp32
    case .int8: Self.int8IsSupported ? .int8 : .fp32
    case .bf16: Self.bf16IsSupported ? .bf16 : .fp32
    }
  }

  /// What `int8` runs instead, in a gradient pass (the forward of a layer that training's
  /// backward reaches), for the two products whose 8-bit inputs set the steering gradient's
  /// error: attention's q, k and v, whose errors move the attention logits that softmax then
  /// amplifies, and the feed-forward's down projection, whose gated input has outliers that set a
  /// whole block's scale. bf16 where the CPU has it, else fp32. The other products (o, gate and
  /// up, the output head) keep their 8-bit activations; passes that take no gradient (generation,
  /// capture, scoring) run every product at int8. experiments/precision/README.md measures why.
  public static var gradientPass: ComputePrecision { bf16IsSupported ? .bf16 : .fp32 }

  /// What the input gradient of a projection (`G·W`, the backward of `y = x·Wᵀ`, as training
  /// and every gradient run it) multiplies with on this CPU when `self` is asked for.
  ///
  /// At `int8` the 8-bit activation blocks run along a weight row, but `G·W` sums down W's
  /// columns, across rows and their blocks, so no block scale factors out of it: the input
  /// gradient of quantized weights runs `bf16` instead (fp32 on a CPU without AVX512_BF16), the
  /// narrowest arithmetic that can carry it. Float weights at `int8` keep fp32 both ways.
  public func inputGradient(quantizedWeights: Bool) -> ComputePrecision {
    switch effective {
    case .fp32: .fp32
    case .bf16: .bf16
    case .int8: quantizedWeights && Self.bf16IsSupported ? .bf16 : .fp32
    }
  }
}
