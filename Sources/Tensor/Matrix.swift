/// A dense row-major matrix of `Float` on contiguous storage.
///
/// Element (r, c) lives at `storage[r * cols + c]`. Value semantics come from the
/// backing array; hot loops reach the storage through `withUnsafe…` pointers.
public struct Matrix: Sendable, Equatable {
  public let rows: Int
  public let cols: Int
  public var storage: [Float]

  public init(rows: Int, cols: Int, repeating value: Float = 0) {
    precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
    self.rows = rows
    self.cols = cols
    self.storage = [Float](repeating: value, count: rows * cols)
  }

  public init(rows: Int, cols: Int, storage: [Float]) {
    precondition(storage.count == rows * cols, "storage holds \(storage.count), expected \(rows * cols)")
    self.rows = rows
    self.cols = cols
    self.storage = storage
  }

  public subscript(row: Int, col: Int) -> Float {
    get { storage[row * cols + col] }
    set { storage[row * cols + col] = newValue }
  }

  /// A copy of one row.
  public func row(_ r: Int) -> [Float] {
    Array(storage[(r * cols)..<((r + 1) * cols)])
  }
}
