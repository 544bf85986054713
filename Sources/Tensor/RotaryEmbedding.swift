import Foundation
import Synchronization

/// Rotary position embedding.
///
/// For a head vector x of dimension D and position p, pair i (0 ≤ i < D/2) is rotated by the
/// angle p · θᵢ (θᵢ = base^(−2i/D) unless the model scales it). With `halfSplit` false the pair
/// is (x[2i], x[2i+1]), the layout of GGUF Llama weights, whose converter permuted the
/// query/key projections so that this equals Hugging Face's `rotate_half`; with `halfSplit`
/// it is (x[i], x[i + D/2]), `rotate_half` itself. Tables are computed in Double and stored
/// as Float, and grow on demand.
public final class RotaryEmbedding: Sendable {
  public let headDimension: Int
  public let inverseFrequencies: [Double]
  public let halfSplit: Bool
  /// Multiplies cos and sin (LongRoPE's attention factor; 1 elsewhere).
  public let magnitude: Double
  /// The current tables. A reader takes the reference under the lock and reads without it: a
  /// generation is never changed, and `reserve` replaces it with a larger one, so tables that a
  /// reader holds stay valid whatever other threads reserve meanwhile.
  @usableFromInline let tables = Mutex(Tables(cos: [], sin: [], positions: 0))

  /// cos and sin of every (position, pair), position-major; immutable once made.
  @usableFromInline
  final class Tables: Sendable {
    let cos: [Float]
    let sin: [Float]
    let positions: Int

    init(cos: [Float], sin: [Float], positions: Int) {
      self.cos = cos
      self.sin = sin
      self.positions = positions
    }
  }

  public convenience init(headDimension: Int, base: Double) {
    self.init(
      headDimension: headDimension,
      inverseFrequencies: (0..<(headDimension / 2)).map { pow(base, -Double(2 * $0) / Double(headDimension)) },
      halfSplit: false)
  }

  public init(headDimension: Int, inverseFrequencies: [Double], halfSplit: Bool, magnitude: Double = 1) {
    precondition(headDimension % 2 == 0 && inverseFrequencies.count == headDimension / 2, "RoPE needs D/2 frequencies")
    self.headDimension = headDimension
    self.inverseFrequencies = inverseFrequencies
    self.halfSplit = halfSplit
    self.magnitude = magnitude
  }

  /// Makes sure the tables cover positions 0..<count.
  public func reserve(positions count: Int) {
    tables.withLock { current in
      guard count > current.positions else { return }
      let newCount = max(count, current.positions * 2, 256)
      let half = headDimension / 2
      var cosTable = current.cos
      var sinTable = current.sin
      cosTable.reserveCapacity(newCount * half)
      sinTable.reserveCapacity(newCount * half)
      for p in current.positions..<newCount {
        for i in 0..<half {
          let angle = Double(p) * inverseFrequencies[i]
          cosTable.append(Float(magnitude * Foundation.cos(angle)))
          sinTable.append(Float(magnitude * Foundation.sin(angle)))
        }
      }
      current = Tables(cos: cosTable, sin: sinTable, positions: newCount)
    }
  }

  /// Rotates `heads` consecutive head vectors starting at `x` for position `position`.
  /// Call `reserve(positions:)` first; `inverse` rotates by the negative angle (the
  /// transpose, used by the backward pass; a magnitude other than 1 scales both ways).
  @inlinable
  public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, inverse: Bool = false) {
    withTables(position: position) { c, s in
      let half = headDimension / 2
      let sign: Float = inverse ? -1 : 1
      // Pair i is (v[i·step], v[i·step + offset]).
      let (step, offset) = halfSplit ? (1, half) : (2, 1)
      for h in 0..<heads {
        let v = x + h * headDimension
        for i in 0..<half {
          let a = v[i * step]
          let b = v[i * step + offset]
          let cs = c[i]
          let sn = sign * s[i]
          v[i * step] = a * cs - b * sn
          v[i * step + offset] = a * sn + b * cs
        }
      }
    }
  }

  @usableFromInline
  func withTables(position: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
    let current = tables.withLock { $0 }
    precondition(position < current.positions, "RoPE table not reserved for position \(position)")
    let half = headDimension / 2
    current.cos.withUnsafeBufferPointer { c in
      current.sin.withUnsafeBufferPointer { s in
        body(c.baseAddress! + position * half, s.baseAddress! + position * half)
      }
    }
  }
}
