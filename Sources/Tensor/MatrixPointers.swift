/// Several matrices' storage reached in one closure instead of one nested closure per matrix.
///
/// The pointers are valid only inside `body`, as with `withUnsafeBufferPointer`. A matrix with
/// no elements gives a pointer that must not be dereferenced (its count is zero).
extension Matrix {
  /// This matrix read-only and `output` writable.
  @inlinable
  public func withPointers<R>(
    _ output: inout Matrix, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeBufferPointer { a in
      try output.storage.withUnsafeMutableBufferPointer { o in
        try body(a.baseAddress ?? UnsafePointer(Matrix.noElements), o.baseAddress ?? Matrix.noElements)
      }
    }
  }

  /// This matrix and `other` read-only, and `output` writable.
  @inlinable
  public func withPointers<R>(
    _ other: Matrix, _ output: inout Matrix,
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeBufferPointer { a in
      try other.storage.withUnsafeBufferPointer { b in
        try output.storage.withUnsafeMutableBufferPointer { o in
          try body(a.baseAddress ?? UnsafePointer(Matrix.noElements), b.baseAddress ?? UnsafePointer(Matrix.noElements), o.baseAddress ?? Matrix.noElements)
        }
      }
    }
  }

  /// An aligned, non-null address for buffers of zero elements; never read or written.
  @usableFromInline
  static var noElements: UnsafeMutablePointer<Float> {
    UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment)!
  }
}
