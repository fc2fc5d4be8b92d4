@http
Feature: HTTP protocol — clients are served the way HTTP/1.1 promises
  Real clients keep connections open, send several requests without waiting, and sometimes
  ask to close. Writing and then reading on the same connection must simply work.

  Scenario: several requests on one connection, each write read back at once
    Given a running Lithair server
    When I create and read back 10 articles over a single connection
    Then all 10 articles are persisted
    And the events.raftlog file contains exactly 10 ArticleCreated events

  Scenario: requests sent without waiting are answered in order
    Given a running Lithair server
    When I send these requests pipelined on one connection:
      | method | path             | body                                 |
      | POST   | /api/articles    | {"title":"first","content":"one"}   |
      | GET    | /api/articles/0  |                                      |
      | POST   | /api/articles    | {"title":"second","content":"two"}  |
      | GET    | /api/nothing     |                                      |
      | GET    | /api/articles/1  |                                      |
    Then the answers come back in the same order:
      | status | contains            |
      | 201    | "title":"first"     |
      | 200    | "title":"first"     |
      | 201    | "title":"second"    |
      | 404    | not_found           |
      | 200    | "title":"second"    |

  Scenario: a client asking to close the connection gets its answer, then the close
    Given a running Lithair server
    When I send a request asking the server to close the connection
    Then the server answers and closes the connection
