@bad-input
Feature: Bad input gets a clear error, and nothing is lost
  Whatever a client sends, the server answers with a precise error, writes nothing to the log,
  and keeps serving everyone else.

  Scenario: every kind of bad request is refused with its own error
    Given a running Lithair server
    And I have created 1 article
    When I send these bad requests:
      | case                  | method | path              | content type     | body                               | status | error code             |
      | malformed JSON        | POST   | /api/articles     | application/json | {"title": "x",                     | 400    | malformed_json         |
      | not JSON at all       | POST   | /api/articles     | application/json | hello                              | 400    | malformed_json         |
      | wrong type            | POST   | /api/articles     | application/json | {"title": 42, "content": "c"}      | 400    | invalid_field          |
      | missing title         | POST   | /api/articles     | application/json | {"content": "c"}                   | 400    | invalid_field          |
      | empty title           | POST   | /api/articles     | application/json | {"title": " ", "content": "c"}     | 400    | invalid_field          |
      | unknown field         | POST   | /api/articles     | application/json | {"title": "t", "content": "c", "x": 1} | 400 | invalid_field          |
      | not UTF-8             | POST   | /api/articles     | application/json | <invalid UTF-8>                    | 400    | invalid_utf8           |
      | huge body             | POST   | /api/articles     | application/json | <2 MiB of text>                    | 413    | payload_too_large      |
      | wrong content type    | POST   | /api/articles     | text/plain       | {"title": "t", "content": "c"}     | 415    | unsupported_media_type |
      | no content type       | POST   | /api/articles     | none             | {"title": "t", "content": "c"}     | 415    | unsupported_media_type |
      | unknown route         | GET    | /api/unknown      |                  |                                    | 404    | not_found              |
      | unknown article       | GET    | /api/articles/999 |                  |                                    | 404    | not_found              |
      | wrong method          | PATCH  | /api/articles/0   | application/json | {"title": "t", "content": "c"}     | 405    | method_not_allowed     |
      | update a ghost        | PUT    | /api/articles/999 | application/json | {"title": "t", "content": "c"}     | 404    | not_found              |
      | comment by a stranger | POST   | /api/articles/0/comments | application/json | {"user_id": 7, "body": "hi"} | 404    | not_found              |
    Then each bad request was rejected with its status and error code
    And no event was written
    And the server is still healthy
    And the events.raftlog file contains exactly 1 events
