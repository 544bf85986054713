import ModelFiles

/// GPT-2's reversible map between bytes and printable Unicode scalars.
///
/// Bytes that are printable in Latin-1 (33–126, 161–172, 174–255) stand for themselves;
/// the other 68 bytes take the scalars 256, 257, … in byte order. BPE vocabularies of
/// byte-level models are written in this alphabet.
enum ByteLevelAlphabet {
  static let scalarForByte: [Unicode.Scalar] = {
    var table = [Unicode.Scalar](repeating: "\0", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
        table[b] = Unicode.Scalar(UInt32(b))!
      } else {
        table[b] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return table
  }()

  static let byteForScalar: [UInt32: UInt8] = {
    var map: [UInt32: UInt8] = [:]
    for (b, s) in scalarForByte.enumerated() { map[s.value] = UInt8(b) }
    return map
  }()
}
