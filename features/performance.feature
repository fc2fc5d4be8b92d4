@performance @serial
Feature: Performance — the service levels Lithair promises
  These are the levels a product can count on, measured on the real server with a load
  generator that keeps connections open like real clients do. They are floors, not
  benchmarks: the benchmark (scripts/bench.sh) measures how far above them Lithair goes.

  Scenario: 5000 articles posted at once by 100 clients
    Given a running Lithair server
    When 100 clients create 5000 articles
    Then every request succeeded
    And the events.raftlog file contains exactly 5000 ArticleCreated events
    And the server log shows no error
    And the average latency was below 50 ms

  Scenario: writes for 10 seconds
    Given a running Lithair server
    When 20 clients create articles for 10 seconds
    Then the server handled at least 1000 requests per second
    And every request succeeded
    And 95% of the requests were answered within 100 ms
    And the events.raftlog file holds one ArticleCreated event per acknowledged creation
    And every acknowledged write is in the events.raftlog file

  Scenario: reads for 10 seconds over 5000 articles
    Given a running Lithair server
    And 5000 articles already exist
    When 50 clients read existing articles for 10 seconds
    Then the server handled at least 5000 requests per second
    And every request succeeded
    And 99% of the requests were answered within 20 ms

  Scenario: mixed reads and writes for 30 seconds
    Given a running Lithair server
    And 5000 articles already exist
    When this traffic runs for 30 seconds at 2500 requests per second:
      | type  | percentage | concurrency |
      | Read  | 80%        | 100         |
      | Write | 20%        | 20          |
    Then the server handled at least 2000 requests per second
    And less than 0.1% of the requests failed
    And the average latency was below 30 ms
    And every acknowledged write is in the events.raftlog file
