import PSR
import XCTest

/// The one rule matching a factor to a coherence target, on a coherence that falls with the factor.
final class CoherenceBisectionTests: XCTestCase {
  private typealias Tried = (factor: Float, coherence: Double)

  private func search(target: Double, tried: [Tried] = [], coherence: @escaping (Float) -> Double) -> (best: Tried, tried: [Tried]) {
    CoherenceBisection.search(
      target: target, maxFactor: 8, steps: 6, tried: tried, factor: \.factor, coherence: \.coherence, evaluate: { ($0, coherence($0)) })
  }

  func testTheLargestFactorThatStaysCoherentWins() {
    let (best, tried) = search(target: 75) { 100 - 10 * Double($0) }  // reaches 75 up to factor 2.5
    XCTAssertEqual(tried.count, 6)
    XCTAssertLessThanOrEqual(best.factor, 2.5)
    XCTAssertGreaterThan(best.factor, 2.5 - 8 / 64)  // within the last interval's width
    XCTAssertEqual(best.factor, tried.filter { $0.coherence >= 75 }.map(\.factor).max())
  }

  func testWhenNoFactorReachesTheTargetTheClosestWins() {
    let (best, tried) = search(target: 99, tried: [(1, 60)]) { 90 - 10 * Double($0) }
    XCTAssertEqual(tried.count, 7)
    XCTAssertEqual(best.coherence, tried.map(\.coherence).max())
    XCTAssertLessThan(best.factor, 8 / 64 + 1e-6)
  }

  func testFactorsGivenAsTriedTakePart() {
    // The factor-1 result that compare evaluates first is among the candidates.
    let (best, _) = search(target: 50, tried: [(1, 95)]) { _ in 10 }
    XCTAssertEqual(best.factor, 1)
  }
}
