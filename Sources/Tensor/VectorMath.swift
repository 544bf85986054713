/// exp over arrays in SIMD lanes, for softmax and SwiGLU, where libm's scalar `expf`
/// dominated the non-GEMM time of a prefill.
///
/// exp(x) = 2ⁿ · e^r with n = round(x·log₂e) and r = x − n·ln2 (two-part ln2), |r| ≤ ln2/2;
/// e^r by its degree-6 Taylor polynomial (relative error < 2·10⁻⁷); 2ⁿ through the exponent
/// bits. Inputs above 88.3 are clamped there (finite results); below −87.3 the result is 0 (no denormals).
public enum VectorMath {
  @inline(__always)
  public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 88.3))
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (SIMD8<Int32>(n, rounding: .toNearestOrEven) &+ 127) &<< 23
    // Below the clamp the true value is denormal or zero: flush it to zero.
    return (p * unsafeBitCast(bits, to: SIMD8<Float>.self)).replacing(with: 0, where: x .< -87.3)
  }

  /// x[i] ← exp(x[i] − shift) for `count` values; returns their sum.
  @inlinable
  public static func expInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float = 0) -> Float {
    var sum = SIMD8<Float>()
    var i = 0
    let raw = UnsafeMutableRawPointer(x)
    while i + 8 <= count {
      let v = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
      raw.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
      sum += v
      i += 8
    }
    var total = sum.sum()
    if i < count {
      var tail = SIMD8<Float>(repeating: -.infinity)
      for j in i..<count { tail[j - i] = x[j] - shift }
      let v = exp(tail)
      for j in i..<count {
        x[j] = v[j - i]
        total += v[j - i]
      }
    }
    return total
  }
}
