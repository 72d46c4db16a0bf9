import FastCGI
import Kernel
import Platform

extension ProjectFiles.Problem: HTTPResponseError {
    public var status: Int {
        switch self {
        case .noFiles: 404
        case .tooManyFiles, .tooLarge: 413
        case .unreadable: 500
        }
    }

    public var code: String {
        switch self {
        case .noFiles: "PROJECT_FILES_NOT_FOUND"
        case .tooManyFiles, .tooLarge: "PROJECT_TOO_LARGE"
        case .unreadable: "PROJECT_FILE_UNREADABLE"
        }
    }

    public var message: String {
        switch self {
        case .noFiles: "The project has no files to deploy"
        case .tooManyFiles(let limit): "A deployment holds at most \(limit) files"
        case .tooLarge(let limit): "A deployment from disk holds at most \(limit) bytes"
        case .unreadable: "A project file could not be read"
        }
    }

    public var extraFields: [String: JSONValue] {
        switch self {
        case .tooManyFiles(let limit): ["maxFiles": .integer(limit)]
        case .tooLarge(let limit): ["maxBytes": .integer(limit)]
        case .noFiles, .unreadable: [:]
        }
    }
}
