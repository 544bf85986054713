// swift-tools-version:6.0
import PackageDescription

// A package outside this repository's build that depends on PSRSteering the way anyone would: by a git
// URL and a version, so SwiftPM treats it as remote (and would refuse any unsafe flag in it).
// scripts/check-dependent-package.sh clones the repository, tags the clone, and sets both. The
// package identity is the URL's last component, psr-steering.
let url = Context.environment["PSR_STEERING_URL"] ?? "https://github.com/psr-steering/psr-steering.git"
let version = Version(Context.environment["PSR_STEERING_VERSION"] ?? "0.1.0") ?? "0.1.0"

let package = Package(
  name: "SteerDemo",
  dependencies: [.package(url: url, exact: version)],
  targets: [
    .executableTarget(
      name: "SteerDemo",
      dependencies: [
        .product(name: "LM", package: "psr-steering"), .product(name: "Steering", package: "psr-steering"),
      ])
  ],
  swiftLanguageModes: [.v6]
)
