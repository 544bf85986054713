import Foundation

/// CPython's `random.Random`: the Mersenne Twister MT19937 with Python's seeding, `random()`,
/// `gauss()` and `choice()`. langdetect draws from it, so reproducing its verdicts needs the same
/// stream: `Random(0)` here gives the numbers `random.Random(0)` gives in Python 3.11.
struct PythonRandom {
  private var mt = [UInt32](repeating: 0, count: 624)
  private var index = 624
  private var gaussNext: Double?

  /// `random.seed(n)` for a non-negative integer below 2³²: `init_by_array([n])`.
  init(seed: UInt32) {
    initGenrand(19_650_218)
    let key = [seed]
    var i = 1, j = 0
    for _ in 0..<max(624, key.count) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
      i += 1
      j += 1
      if i >= 624 { mt[0] = mt[623]; i = 1 }
      if j >= key.count { j = 0 }
    }
    for _ in 0..<623 {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
      i += 1
      if i >= 624 { mt[0] = mt[623]; i = 1 }
    }
    mt[0] = 0x8000_0000
    index = 624
  }

  private mutating func initGenrand(_ s: UInt32) {
    mt[0] = s
    for i in 1..<624 { mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
    index = 624
  }

  mutating func next32() -> UInt32 {
    if index >= 624 {
      for k in 0..<624 {
        let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % 624] & 0x7FFF_FFFF)
        mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
      }
      index = 0
    }
    var y = mt[index]
    index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C_5680
    y ^= (y << 15) & 0xEFC6_0000
    y ^= y >> 18
    return y
  }

  /// `random()`: 53 random bits in [0, 1).
  mutating func random() -> Double {
    let a = Double(next32() >> 5), b = Double(next32() >> 6)
    return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
  }

  /// `gauss(0, 1)` (Python 3.11): Box–Muller, keeping the second value for the next call.
  mutating func gauss() -> Double {
    if let z = gaussNext {
      gaussNext = nil
      return z
    }
    let x2pi = random() * 2 * Double.pi
    let g2rad = (-2.0 * Foundation.log(1.0 - random())).squareRoot()
    gaussNext = Foundation.sin(x2pi) * g2rad
    return Foundation.cos(x2pi) * g2rad
  }

  /// `_randbelow(n)` for 0 < n < 2³²: `getrandbits(n.bit_length())` until below n. (langdetect's
  /// n, a count of n-grams in at most 10,000 characters, is far below 2³²; other n give 0, so that
  /// the shift below never goes negative.)
  mutating func below(_ n: Int) -> Int {
    guard n > 0 && n < 1 << 32 else { return 0 }
    let k = Int.bitWidth - n.leadingZeroBitCount
    while true {
      let r = Int(next32() >> UInt32(32 - k))
      if r < n { return r }
    }
  }
}
