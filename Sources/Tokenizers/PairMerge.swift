/// The inner loop of BPE and of SentencePiece's BPE: merge the best adjacent pair of symbols,
/// leftmost on ties, until no pair merges.
///
/// Rescanning the sequence after every merge costs O(n²) in the length of a piece, and a piece
/// can be long: byte-level pre-tokenizers keep a run of letters together, and SentencePiece merges
/// the whole text between special tokens. A prompt of 40,000 x's took 8.5 s that way, and a
/// request body of 2 MB hours. Here the symbols form a linked list and the candidate pairs a
/// binary min-heap keyed by (priority, position of the left symbol), so each merge costs O(log n).
/// The pair taken is the one a full rescan would take: the lowest priority over the pairs adjacent
/// now, and among equals the leftmost (positions keep the sequence's order). A heap entry is stale
/// when either symbol has changed since it was pushed (its version moved on) and is then skipped.
public enum PairMerge {
  /// Merges `symbols` in place of the rescanning loop; `pair` says whether two adjacent symbols
  /// merge, with what priority (lower merges first) and into what.
  public static func run<Symbol, Priority: Comparable>(
    _ symbols: [Symbol], pair: (Symbol, Symbol) -> (priority: Priority, merged: Symbol)?
  ) -> [Symbol] {
    let n = symbols.count
    guard n > 1 else { return symbols }
    var symbol = symbols
    var next = Array(1...n)  // n marks the end
    var previous = Array(-1..<(n - 1))  // -1 marks the start
    var version = [Int](repeating: 0, count: n)
    var alive = [Bool](repeating: true, count: n)
    var heap = CandidateHeap<Symbol, Priority>()
    func push(_ left: Int) {
      let right = next[left]
      guard right < n, let p = pair(symbol[left], symbol[right]) else { return }
      heap.push(
        Candidate(
          priority: p.priority, left: left, right: right, leftVersion: version[left], rightVersion: version[right],
          merged: p.merged))
    }
    for i in 0..<(n - 1) { push(i) }
    while let c = heap.pop() {
      guard alive[c.left], alive[c.right], next[c.left] == c.right, version[c.left] == c.leftVersion,
        version[c.right] == c.rightVersion
      else { continue }
      symbol[c.left] = c.merged
      version[c.left] += 1
      alive[c.right] = false
      next[c.left] = next[c.right]
      if next[c.right] < n { previous[next[c.right]] = c.left }
      if previous[c.left] >= 0 { push(previous[c.left]) }
      push(c.left)
    }
    var out: [Symbol] = []
    var i = 0
    while i < n {
      out.append(symbol[i])
      i = next[i]
    }
    return out
  }
}

private struct Candidate<Symbol, Priority: Comparable> {
  var priority: Priority
  var left: Int
  var right: Int
  var leftVersion: Int
  var rightVersion: Int
  var merged: Symbol

  /// Lower priority first; the leftmost among equals.
  func precedes(_ other: Self) -> Bool {
    priority < other.priority || (!(other.priority < priority) && left < other.left)
  }
}

/// A binary min-heap of candidates.
private struct CandidateHeap<Symbol, Priority: Comparable> {
  private var items: [Candidate<Symbol, Priority>] = []

  mutating func push(_ c: Candidate<Symbol, Priority>) {
    items.append(c)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard items[i].precedes(items[parent]) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  mutating func pop() -> Candidate<Symbol, Priority>? {
    guard !items.isEmpty else { return nil }
    let top = items[0]
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var i = 0
      while true {
        let (l, r) = (2 * i + 1, 2 * i + 2)
        var best = i
        if l < items.count, items[l].precedes(items[best]) { best = l }
        if r < items.count, items[r].precedes(items[best]) { best = r }
        guard best != i else { break }
        items.swapAt(i, best)
        i = best
      }
    }
    return top
  }
}
