import Kernel

/// The path of a Vercel API call, written as a string with its parameters interpolated:
/// `"/v13/deployments/\(id)"`. Each interpolated value is percent-encoded into `path`, and stands
/// as `{}` in `template` (`/v13/deployments/{}`), the name the call is measured under: never an id.
public struct EndpointPath: Sendable, ExpressibleByStringInterpolation {
    public private(set) var path = ""
    public private(set) var template = ""

    public init(stringLiteral value: String) {
        path = value
        template = value
    }

    public init(stringInterpolation: Interpolation) {
        path = stringInterpolation.path
        template = stringInterpolation.template
    }

    public struct Interpolation: StringInterpolationProtocol {
        var path = ""
        var template = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            path.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: String) {
            path += literal
            template += literal
        }

        /// A parameter: percent-encoded in the path, `{}` in the template.
        public mutating func appendInterpolation(_ parameter: some StringProtocol) {
            path += QueryString.encode(String(parameter))
            template += "{}"
        }
    }
}
