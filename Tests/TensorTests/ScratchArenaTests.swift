import Tensor
import XCTest

final class ScratchArenaTests: XCTestCase {
  /// Buffers are zeroed, distinct, and keep what was written until the arena goes.
  func testBuffersAreZeroedAndDisjoint() {
    let arena = ScratchArena()
    let a = arena.floats(1000)
    let b = arena.floats(0)
    let c = arena.floats(3)
    XCTAssertTrue((0..<1000).allSatisfy { a[$0] == 0 })
    for i in 0..<1000 { a[i] = Float(i) }
    c[0] = -1
    c[2] = -3
    b[0] = 7  // a zero-float request still gets one writable float
    XCTAssertEqual(a[999], 999)
    XCTAssertEqual(a[0], 0)
    XCTAssertEqual([c[0], c[1], c[2]], [-1, 0, -3])
    XCTAssertEqual(b[0], 7)
  }

  /// `withPointers` reads and writes the matrices' own storage, row-major, and accepts empty ones.
  func testWithPointersReachesEachMatrix() {
    let a = Matrix(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
    let b = Matrix(rows: 2, cols: 3, storage: [10, 20, 30, 40, 50, 60])
    var out = Matrix(rows: 2, cols: 3)
    a.withPointers(b, &out) { x, y, o in
      for i in 0..<6 { o[i] = x[i] * y[i] }
    }
    XCTAssertEqual(out.storage, [10, 40, 90, 160, 250, 360])
    XCTAssertEqual(out[1, 0], 160)
    var empty = Matrix(rows: 0, cols: 4)
    let touched = Matrix(rows: 0, cols: 4).withPointers(&empty) { _, _ in 1 }
    XCTAssertEqual(touched, 1)
    XCTAssertEqual(empty.storage, [])
  }
}
