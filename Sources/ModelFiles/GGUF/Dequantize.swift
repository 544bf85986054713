/// Conversion of GGML tensor data to fp32.
///
/// Block formats (llama.cpp's `ggml-common.h`), 32 elements a block:
/// - Q4_0: d (fp16), then 16 bytes; element j is d·(lo(q[j]) − 8) and j+16 is d·(hi(q[j]) − 8).
/// - Q4_1: d, m (fp16), then 16 bytes; element j is d·lo(q[j]) + m and j+16 is d·hi(q[j]) + m.
/// - Q8_0: d (fp16), then 32 signed bytes; element j is d·q[j].
public enum Dequantize {
  /// Decodes `count` elements of `type` from `source` into `destination`.
  /// `count` must be a multiple of the block size, and `source` must hold the blocks.
  public static func decode(
    _ type: GGMLType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    switch type {
    case .f32:
      for i in 0..<count { destination[i] = source.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
    case .f16:
      for i in 0..<count { destination[i] = half(source, 2 * i) }
    case .bf16:
      for i in 0..<count {
        let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        destination[i] = Float(bitPattern: bits << 16)
      }
    case .q4_0:
      for b in 0..<(count / 32) {
        let block = source + b * 18
        let d = half(block, 0)
        let out = destination + b * 32
        for j in 0..<16 {
          let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
          out[j] = d * Float(Int(q & 0x0F) - 8)
          out[j + 16] = d * Float(Int(q >> 4) - 8)
        }
      }
    case .q4_1:
      for b in 0..<(count / 32) {
        let block = source + b * 20
        let d = half(block, 0)
        let m = half(block, 2)
        let out = destination + b * 32
        for j in 0..<16 {
          let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
          out[j] = d * Float(q & 0x0F) + m
          out[j + 16] = d * Float(q >> 4) + m
        }
      }
    case .q8_0:
      for b in 0..<(count / 32) {
        let block = source + b * 34
        let d = half(block, 0)
        let out = destination + b * 32
        for j in 0..<32 { out[j] = d * Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) }
      }
    case .q5_0, .q5_1:
      let size = type.blockBytes
      let hasMin = type == .q5_1
      for b in 0..<(count / 32) {
        let block = source + b * size
        let d = half(block, 0)
        let m: Float = hasMin ? half(block, 2) : 0
        let bits = hasMin ? 4 : 2
        let high = block.loadUnaligned(fromByteOffset: bits, as: UInt32.self).littleEndian
        let out = destination + b * 32
        for j in 0..<16 {
          let q = block.load(fromByteOffset: bits + 4 + j, as: UInt8.self)
          let x0 = Int(q & 0x0F) | Int((high >> UInt32(j)) << 4 & 0x10)
          let x1 = Int(q >> 4) | Int((high >> UInt32(j + 12)) & 0x10)
          if hasMin {
            out[j] = d * Float(x0) + m
            out[j + 16] = d * Float(x1) + m
          } else {
            out[j] = d * Float(x0 - 16)
            out[j + 16] = d * Float(x1 - 16)
          }
        }
      }
    case .q4_K, .q5_K:
      for b in 0..<(count / 256) { decodeQ45K(type, source + b * type.blockBytes, destination + b * 256) }
    case .q6_K:
      for b in 0..<(count / 256) { decodeQ6K(source + b * 210, destination + b * 256) }
    }
  }

  /// The 6-bit scale and minimum of sub-block j (0..<8) of a Q4_K/Q5_K block's 12 packed bytes.
  @inline(__always)
  static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
    func byte(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 { return (Float(byte(j) & 63), Float(byte(j + 4) & 63)) }
    return (Float((byte(j + 4) & 0xF) | ((byte(j - 4) >> 6) << 4)), Float((byte(j + 4) >> 4) | ((byte(j) >> 6) << 4)))
  }

  /// 256 weights in 8 sub-blocks of 32: y = (d·scale)·q − (dmin·min), q the 4-bit value (plus
  /// 16 × its fifth bit for Q5_K). The products are formed in llama.cpp's order, so that the
  /// result equals its dequantization exactly.
  static func decodeQ45K(_ type: GGMLType, _ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
    let d = half(block, 0)
    let dmin = half(block, 2)
    let scales = block + 4
    let five = type == .q5_K
    let high = block + 16
    let quants = block + (five ? 48 : 16)
    for chunk in 0..<4 {
      let (s1, m1) = scaleMin(2 * chunk, scales)
      let (s2, m2) = scaleMin(2 * chunk + 1, scales)
      let (d1, min1, d2, min2) = (d * s1, dmin * m1, d * s2, dmin * m2)
      let q = quants + 32 * chunk
      let y = out + 64 * chunk
      for l in 0..<32 {
        let byte = q.load(fromByteOffset: l, as: UInt8.self)
        var lo = Int(byte & 0xF)
        var hi = Int(byte >> 4)
        if five {
          let h = high.load(fromByteOffset: l, as: UInt8.self)
          lo += h & (1 << (2 * chunk)) != 0 ? 16 : 0
          hi += h & (2 << (2 * chunk)) != 0 ? 16 : 0
        }
        y[l] = d1 * Float(lo) - min1
        y[l + 32] = d2 * Float(hi) - min2
      }
    }
  }

  /// 256 weights in 16 sub-blocks of 16: y = (d·scale)·(q − 32), q 6 bits from a low nibble and
  /// two high bits.
  static func decodeQ6K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
    let d = half(block, 208)
    for half in 0..<2 {
      let ql = block + 64 * half
      let qh = block + 128 + 32 * half
      let sc = block + 192 + 8 * half
      let y = out + 128 * half
      for l in 0..<32 {
        let group = l / 16
        let low0 = ql.load(fromByteOffset: l, as: UInt8.self)
        let low1 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
        let h = qh.load(fromByteOffset: l, as: UInt8.self)
        let q1 = Int((low0 & 0xF) | ((h & 3) << 4)) - 32
        let q2 = Int((low1 & 0xF) | (((h >> 2) & 3) << 4)) - 32
        let q3 = Int((low0 >> 4) | (((h >> 4) & 3) << 4)) - 32
        let q4 = Int((low1 >> 4) | (((h >> 6) & 3) << 4)) - 32
        func scale(_ i: Int) -> Float { d * Float(sc.load(fromByteOffset: i, as: Int8.self)) }
        y[l] = scale(group) * Float(q1)
        y[l + 32] = scale(group + 2) * Float(q2)
        y[l + 64] = scale(group + 4) * Float(q3)
        y[l + 96] = scale(group + 6) * Float(q4)
      }
    }
  }

  @inline(__always)
  package static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }
}
