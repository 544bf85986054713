import ModelFiles

/// `tokenizer.ggml.token_type`: llama.cpp's type of each token (0 undefined, 1 normal, 2 unknown,
/// 3 control, 4 user-defined, 5 unused, 6 byte), or nil where the file has none. A list of another
/// length or a value outside 0–6 is an error: read on, it would silently change which tokens are
/// special.
func ggufTokenTypes(_ metadata: [String: GGUFValue], tokenCount: Int) throws -> [Int]? {
  guard let value = metadata["tokenizer.ggml.token_type"] else { return nil }
  let expected = "one type (0–6) per token, \(tokenCount) in all"
  guard let array = value.array, array.count == tokenCount else {
    throw ModelError.wrongKeyType(key: "tokenizer.ggml.token_type", expected: expected)
  }
  return try array.map { entry in
    guard let type = entry.int, (0...6).contains(type) else {
      throw ModelError.wrongKeyType(key: "tokenizer.ggml.token_type", expected: expected)
    }
    return type
  }
}
