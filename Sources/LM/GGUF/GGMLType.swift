/// The tensor element types this reader can turn into fp32, with their block layout.
public enum GGMLType: UInt32, Sendable, CaseIterable {
  case f32 = 0
  case f16 = 1
  case q4_0 = 2
  case q4_1 = 3
  case q8_0 = 8
  case bf16 = 30

  /// Elements per block (1 for plain float types).
  public var blockSize: Int {
    switch self {
    case .f32, .f16, .bf16: 1
    case .q4_0, .q4_1, .q8_0: 32
    }
  }

  /// Bytes per block.
  public var blockBytes: Int {
    switch self {
    case .f32: 4
    case .f16, .bf16: 2
    case .q4_0: 18  // fp16 scale + 16 bytes of nibbles
    case .q4_1: 20  // fp16 scale + fp16 minimum + 16 bytes of nibbles
    case .q8_0: 34  // fp16 scale + 32 signed bytes
    }
  }
}
