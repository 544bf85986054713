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
    }
  }

  @inline(__always)
  static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }
}
