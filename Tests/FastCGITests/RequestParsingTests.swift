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
