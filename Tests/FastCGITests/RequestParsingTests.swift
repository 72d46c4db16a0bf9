import Kernel
import Testing

@testable import FastCGI

@Suite struct RequestParsingTests {
    @Test(arguments: [
        ("a=1&b=two+words&c=%2Fx%2F", [("a", "1"), ("b", "two words"), ("c", "/x/")]),
        ("flag&empty=&=v", [("flag", ""), ("empty", ""), ("", "v")]),
        ("bad=%zz%4", [("bad", "%zz%4")]),
        ("utf=%C3%A9", [("utf", "é")]),
    ])
    func queryStringsDecode(query: String, expected: [(String, String)]) {
        let parsed = QueryString.parse(query)
        #expect(parsed.map(\.name) == expected.map(\.0))
        #expect(parsed.map(\.value) == expected.map(\.1))
    }

    @Test func queryEncodingKeepsOnlyUnreservedCharacters() {
        #expect(QueryString.encode("a b/é~") == "a%20b%2F%C3%A9~")
        #expect(QueryString.decode(QueryString.encode("x=1&y=2"), plusAsSpace: false) == "x=1&y=2")
    }

    @Test(arguments: ["abc-123", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a.b:c_d"])
    func wellFormedRequestIDsAreKept(id: String) {
        #expect(RequestID.accept(id) == id)
    }

    @Test(arguments: ["", "has space", "new\nline", String(repeating: "a", count: 129), "quote\"d"])
    func malformedRequestIDsAreReplaced(id: String) {
        #expect(RequestID.accept(id) == nil)
    }

    @Test func newRequestIDsAre32HexCharactersAndDiffer() {
        let a = RequestID.make()
        let b = RequestID.make()
        #expect(a.count == 32 && a.allSatisfy(\.isHexDigit))
        #expect(a != b)
    }

    @Test func requestHeadSplitsTheURIAndNamesHeaders() {
        let head = RequestHead(parameters: [
            "REQUEST_METHOD": "POST", "REQUEST_URI": "/a/b?x=1&y=2", "HTTP_X_SHEEN_NONCE": "n",
            "CONTENT_TYPE": "application/json", "REQUEST_ID": "bad id",
        ])
        #expect(head.method == "POST" && head.path == "/a/b" && head.rawQuery == "x=1&y=2")
        #expect(head.headers["x-sheen-nonce"] == "n")
        #expect(head.headers["content-type"] == "application/json")
        #expect(head.requestID != "bad id" && head.requestID.count == 32)
    }
}

@Suite struct JSONScreenTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, JSONScreen.Problem.duplicateKey("a")),
        (#"{"a":1,"\u0061":2}"#, .duplicateKey("a")),
        (#"{"o":{"k":1,"k":1}}"#, .duplicateKey("k")),
        (#"[{"k":1},{"k":1,"k":2}]"#, .duplicateKey("k")),
        (#"{"s":"a\u0000b"}"#, .nulCharacter),
        (#"{"s\u0000":1}"#, .nulCharacter),
        (String(repeating: "[", count: 40) + String(repeating: "]", count: 40), .tooDeep(limit: 32)),
        (#"{"a":1"#, .malformed),
    ])
    func refused(body: String, problem: JSONScreen.Problem) {
        #expect(throws: problem) { try JSONScreen.check(Array(body.utf8)) }
    }

    @Test(arguments: [
        #"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, #"{"s":"a\\u0000b"}"#,
        #"{"e":"\"quoted\" \\ é 🚀 \ud83d\ude80"}"#,
        "[]", "{}", "  ", #""text""#, "12.5e3",
    ])
    func accepted(body: String) throws {
        try JSONScreen.check(Array(body.utf8))
    }
}
