/// The tensor element types this reader can turn into fp32, with their block layout.
public enum GGMLType: UInt32, Sendable, CaseIterable {
  case f32 = 0
  case f16 = 1
  case q4_0 = 2
  case q4_1 = 3
  case q5_0 = 6
  case q5_1 = 7
  case q8_0 = 8
  case q4_K = 12
  case q5_K = 13
  case q6_K = 14
  case bf16 = 30

  /// Elements per block (1 for plain float types).
  public var blockSize: Int {
    switch self {
    case .f32, .f16, .bf16: 1
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
    case .q4_K, .q5_K, .q6_K: 256
    }
  }

  /// Bytes per block.
  public var blockBytes: Int {
    switch self {
    case .f32: 4
    case .f16, .bf16: 2
    case .q4_0: 18  // fp16 scale + 16 bytes of nibbles
    case .q4_1: 20  // fp16 scale + fp16 minimum + 16 bytes of nibbles
    case .q5_0: 22  // fp16 scale + 32 high bits + 16 bytes of nibbles
    case .q5_1: 24  // fp16 scale + fp16 minimum + 32 high bits + 16 bytes of nibbles
    case .q8_0: 34  // fp16 scale + 32 signed bytes
    case .q4_K: 144  // fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block scales/mins, 128 bytes of nibbles
    case .q5_K: 176  // as q4_K plus 32 bytes of fifth bits
    case .q6_K: 210  // 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 sub-block scales, fp16 d
    }
  }
}
