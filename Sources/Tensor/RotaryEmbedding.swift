import Foundation

/// Rotary position embedding on adjacent pairs, the layout of GGUF Llama weights.
///
/// For a head vector x of dimension D and position p, pair i (0 ≤ i < D/2) rotates
/// (x[2i], x[2i+1]) by angle p · θ^(−2i/D). The converter that writes GGUF permutes the
/// query/key projections so that this equals Hugging Face's half-split `rotate_half`.
/// Tables are computed in Double and stored as Float, and grow on demand.
public final class RotaryEmbedding: @unchecked Sendable {
  public let headDimension: Int
  public let base: Double
  private var cosTable: [Float] = []
  private var sinTable: [Float] = []
  private var positions = 0
  private let lock = NSLock()

  public init(headDimension: Int, base: Double) {
    precondition(headDimension % 2 == 0, "RoPE needs an even head dimension")
    self.headDimension = headDimension
    self.base = base
  }

  /// Makes sure the tables cover positions 0..<count.
  public func reserve(positions count: Int) {
    lock.lock()
    defer { lock.unlock() }
    guard count > positions else { return }
    let newCount = max(count, positions * 2, 256)
    let half = headDimension / 2
    cosTable.reserveCapacity(newCount * half)
    for p in positions..<newCount {
      for i in 0..<half {
        let angle = Double(p) * pow(base, -Double(2 * i) / Double(headDimension))
        cosTable.append(Float(cos(angle)))
        sinTable.append(Float(sin(angle)))
      }
    }
    positions = newCount
  }

  /// Rotates `heads` consecutive head vectors starting at `x` for position `position`.
  /// Call `reserve(positions:)` first; `inverse` rotates by the negative angle (the
  /// transpose, used by the backward pass).
  @inlinable
  public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, inverse: Bool = false) {
    withTables(position: position) { c, s in
      let half = headDimension / 2
      let sign: Float = inverse ? -1 : 1
      for h in 0..<heads {
        let v = x + h * headDimension
        for i in 0..<half {
          let a = v[2 * i]
          let b = v[2 * i + 1]
          let cs = c[i]
          let sn = sign * s[i]
          v[2 * i] = a * cs - b * sn
          v[2 * i + 1] = a * sn + b * cs
        }
      }
    }
  }

  @usableFromInline
  func withTables(position: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
    precondition(position < positions, "RoPE table not reserved for position \(position)")
    let half = headDimension / 2
    cosTable.withUnsafeBufferPointer { c in
      sinTable.withUnsafeBufferPointer { s in
        body(c.baseAddress! + position * half, s.baseAddress! + position * half)
      }
    }
  }
}
