/// AxBench's factor protocol: the factor with the best mean harmonic score on the selection
/// instructions wins; the unit's score is the mean on the test instructions at that factor.
public enum AxBenchFactorProtocol {
  /// The index of the winning factor. Only `select` scores are read, never `test`; ties go to
  /// the smaller factor.
  public static func choose(_ grid: [FactorResult]) -> Int {
    var best = 0
    for i in grid.indices.dropFirst() {
      let a = grid[i].select.harmonic ?? 0
      let b = grid[best].select.harmonic ?? 0
      if a > b || (a == b && grid[i].factor < grid[best].factor) { best = i }
    }
    return best
  }
}
