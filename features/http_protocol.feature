@http
Feature: HTTP protocol — clients are served the way HTTP/1.1 promises
  Real clients keep connections open, send several requests without waiting, and sometimes
  ask to close. Writing and then reading on the same connection must simply work.

  Scenario: several requests on one connection, each write read back at once
    Given a running Lithair server
    When I create and read back 10 articles over a single connection
    Then all 10 articles are present with identical content
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

  Scenario: the article list comes in pages, and a trailing slash changes nothing
    Given a running Lithair server
    When I send these requests pipelined on one connection:
      | method | path                            | body                               |
      | POST   | /api/articles                   | {"title":"first","content":"one"}  |
      | POST   | /api/articles                   | {"title":"second","content":"two"} |
      | POST   | /api/articles                   | {"title":"third","content":"three"} |
      | DELETE | /api/articles/1                 |                                    |
      | GET    | /api/articles?offset=1&limit=1  |                                    |
      | GET    | /api/articles/                  |                                    |
      | GET    | /api/articles/2/                |                                    |
    Then the answers come back in the same order:
      | status | contains                                       |
      | 201    | "title":"first"                                |
      | 201    | "title":"second"                               |
      | 201    | "title":"third"                                |
      | 204    |                                                |
      | 200    | "total":2,"offset":1,"limit":1,"items":[{"id":2 |
      | 200    | "items":[{"id":0                               |
      | 200    | "title":"third"                                |

  Scenario: HEAD is answered wherever GET is, like GET and with no body
    Given a running Lithair server
    When I create an article, a user and a comment, and follow each Location
    Then a HEAD of each of these paths is answered like its GET, with no body:
      | path                     |
      | /health                  |
      | /api/articles            |
      | /api/articles/0          |
      | /api/articles/0/comments |
      | /api/users/0             |
      | /api/articles/7          |
