/// How many of a capture's examples are held out for validation, for every fit (S-PSR in
/// `CapturedLayer`, A-PSR and LL in `psr fit`): round(n · fraction), at least one when the fraction is
/// positive and there are two examples or more, and never all of them. A fraction of 0, or a single
/// example, holds none out.
public enum ValidationSplit {
  public static func heldOut(examples n: Int, fraction: Double) -> Int {
    guard n >= 2, fraction > 0 else { return 0 }
    return min(n - 1, max(1, Int((Double(n) * fraction).rounded())))
  }
}
