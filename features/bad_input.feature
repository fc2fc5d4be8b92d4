@bad-input
Feature: Bad input gets a clear error, and nothing is lost
  Whatever a client sends, the server answers with a precise error in JSON, writes nothing to
  the log, and keeps serving everyone else: right after each bad request, a good one is served.

  Scenario: every kind of bad request is refused with its own error
    Given a running Lithair server
    When I perform these actions in order:
      | action             |
      | create an article  |
      | register a user    |
      | create an article  |
      | delete the article |
    And I send these bad requests:
      | case                               | method | path                               | content type     | body                                               | status | error code             |
      | malformed JSON                     | POST   | /api/articles                      | application/json | {"title": "x",                                     | 400    | malformed_json         |
      | not JSON at all                    | POST   | /api/articles                      | application/json | hello                                              | 400    | malformed_json         |
      | wrong type                         | POST   | /api/articles                      | application/json | {"title": 42, "content": "c"}                      | 400    | invalid_field          |
      | missing title                      | POST   | /api/articles                      | application/json | {"content": "c"}                                   | 400    | invalid_field          |
      | empty title                        | POST   | /api/articles                      | application/json | {"title": " ", "content": "c"}                     | 400    | invalid_field          |
      | unknown field                      | POST   | /api/articles                      | application/json | {"title": "t", "content": "c", "x": 1}             | 400    | invalid_field          |
      | not UTF-8                          | POST   | /api/articles                      | application/json | <invalid UTF-8>                                    | 400    | invalid_utf8           |
      | huge body                          | POST   | /api/articles                      | application/json | <2 MiB of text>                                    | 413    | payload_too_large      |
      | huge body, chunked                 | POST   | /api/articles                      | application/json | <2 MiB of text, chunked>                           | 413    | payload_too_large      |
      | wrong content type                 | POST   | /api/articles                      | text/plain       | {"title": "t", "content": "c"}                     | 415    | unsupported_media_type |
      | no content type                    | POST   | /api/articles                      | none             | {"title": "t", "content": "c"}                     | 415    | unsupported_media_type |
      | unknown route                      | GET    | /api/unknown                       |                  |                                                    | 404    | not_found              |
      | unknown article                    | GET    | /api/articles/999                  |                  |                                                    | 404    | not_found              |
      | id that is not a number            | GET    | /api/articles/abc                  |                  |                                                    | 404    | not_found              |
      | id past the largest u64            | GET    | /api/articles/18446744073709551616 |                  |                                                    | 404    | not_found              |
      | wrong method                       | PATCH  | /api/articles/0                    | application/json | {"title": "t", "content": "c"}                     | 405    | method_not_allowed     |
      | delete the whole list              | DELETE | /api/articles                      |                  |                                                    | 405    | method_not_allowed     |
      | list the users                     | GET    | /api/users                         |                  |                                                    | 405    | method_not_allowed     |
      | update a ghost                     | PUT    | /api/articles/999                  | application/json | {"title": "t", "content": "c"}                     | 404    | not_found              |
      | update a deleted article           | PUT    | /api/articles/1                    | application/json | {"title": "t", "content": "c"}                     | 404    | not_found              |
      | update past the largest u64        | PUT    | /api/articles/99999999999999999999 | application/json | {"title": "t", "content": "c"}                     | 404    | not_found              |
      | update with malformed JSON         | PUT    | /api/articles/0                    | application/json | {"title": "t"                                      | 400    | malformed_json         |
      | update with an empty title         | PUT    | /api/articles/0                    | application/json | {"title": "", "content": "c"}                      | 400    | invalid_field          |
      | update with an unknown field       | PUT    | /api/articles/0                    | application/json | {"title": "t", "content": "c", "views": 3}         | 400    | invalid_field          |
      | user with a bad email              | POST   | /api/users                         | application/json | {"name": "Ada", "email": "ada.example.org"}        | 400    | invalid_field          |
      | user with an empty name            | POST   | /api/users                         | application/json | {"name": "", "email": "ada@example.org"}           | 400    | invalid_field          |
      | user with an unknown field         | POST   | /api/users                         | application/json | {"name": "Ada", "email": "a@b.org", "admin": true} | 400    | invalid_field          |
      | comment by a stranger              | POST   | /api/articles/0/comments           | application/json | {"user_id": 7, "body": "hi"}                       | 404    | not_found              |
      | comment on a missing article       | POST   | /api/articles/999/comments         | application/json | {"user_id": 0, "body": "hi"}                       | 404    | not_found              |
      | comment on a deleted article       | POST   | /api/articles/1/comments           | application/json | {"user_id": 0, "body": "hi"}                       | 404    | not_found              |
      | empty comment                      | POST   | /api/articles/0/comments           | application/json | {"user_id": 0, "body": ""}                         | 400    | invalid_field          |
      | a page of no article               | GET    | /api/articles?limit=0              |                  |                                                    | 400    | invalid_query          |
      | a page over 1000 articles          | GET    | /api/articles?limit=1001           |                  |                                                    | 400    | invalid_query          |
      | a negative offset                  | GET    | /api/articles?offset=-1            |                  |                                                    | 400    | invalid_query          |
      | a GET with a body                  | GET    | /api/articles/0                    | application/json | {"title": "t"}                                     | 400    | unexpected_body        |
      | an email with no domain            | POST   | /api/users                         | application/json | {"name": "Ada", "email": "ada@"}                   | 400    | invalid_field          |
      | comments of a missing article      | GET    | /api/articles/999/comments         |                  |                                                    | 404    | not_found              |
      | a wrong method on an unknown route | PATCH  | /api/unknown                       |                  |                                                    | 404    | not_found              |
      | not JSON, and labelled text        | POST   | /api/articles                      | text/plain       | hello                                              | 415    | unsupported_media_type |
      | a bad body for a missing article   | PUT    | /api/articles/999                  | application/json | {"title": "t"                                      | 400    | malformed_json         |
    Then each bad request was rejected with its status and error code
    And no event was written
    And the server is still healthy
    And the events.raftlog file contains exactly 4 events

  Scenario: every creation says where the new resource lives
    Given a running Lithair server
    When I create an article, a user and a comment, and follow each Location
    Then each Location serves what was created
