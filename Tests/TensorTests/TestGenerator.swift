/// A seeded LCG for the Tensor tests' operands: values in [-1, 1) in steps of 0.001.
struct TestGenerator {
  var state: UInt64

  mutating func next() -> Float {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
  }
}
