import CKernels

/// What the products of quantized weights multiply their weights with.
///
/// - `fp32`: the activations as they are; every weight is expanded to fp32 (the reference path,
///   bit for bit what earlier versions computed).
/// - `int8`: the activations quantized per 256 values to 8 bits with one fp32 scale (llama.cpp's
///   q8_K: `d = −max/127`, round half to even), multiplied in integers and scaled once per
///   super-block. Each activation then carries a relative error of at most 1/254 of its block's
///   largest magnitude; docs/PRECISION.md measures what that does to logits and gradients. Only
///   the K-quant weights (Q4_K, Q5_K, Q6_K) have these products; other weights stay fp32.
public enum ComputePrecision: String, Codable, Sendable, CaseIterable {
  case fp32
  case int8

  /// Whether this CPU runs the 8-bit products (AVX-512 with VNNI); where it does not, `int8` runs
  /// the fp32 products.
  public static var int8IsSupported: Bool { psr_q8_gemm_supported() != 0 }

  /// What actually runs on this CPU when `self` is asked for.
  public var effective: ComputePrecision { self == .int8 && !Self.int8IsSupported ? .fp32 : self }
}
