@snapshots
Feature: Snapshots — faster restarts, never a different answer
  With snapshots on, Lithair regularly saves its whole state, and a restart loads the newest
  good snapshot and replays only the log after it. A snapshot is a shortcut: restoring from any
  of them must give exactly what replaying the whole log gives.

  Scenario: a snapshot every 1000 events
    Given a running Lithair server taking a snapshot every 1000 events and keeping 10
    When 20 clients create 5000 articles
    And I stop the server
    Then there are at least 5 snapshots
    And every snapshot is valid
    And writes paused less than 50 ms for each snapshot
    And no write waited more than 500 ms while the snapshots were taken
    And the events.raftlog file contains exactly 5000 ArticleCreated events
    And restoring from each snapshot alone gives the same articles as a full replay

  Scenario: with more snapshots taken than kept, exactly the newest remain
    Given a running Lithair server taking a snapshot every 100 events and keeping 3
    When I create 1000 articles
    And I stop the server
    Then exactly the newest 3 snapshots remain
    And every snapshot is valid

  @serial
  Scenario: with a 200000-event log, a restart from a snapshot beats a full replay
    Given a running Lithair server taking a snapshot every 50000 events
    When 50 clients create 200000 articles
    And I restart the server with and without its snapshots
    Then the restart with snapshots was faster than the one without
    And every acknowledged write is present

  Scenario: a damaged snapshot is passed over for the next older one
    Given a running Lithair server taking a snapshot every 100 events and keeping 3
    When I create 500 articles
    And I stop the server
    And the newest snapshot file is damaged
    And I start the server again
    Then the server started from the newest sound snapshot and named the damaged one
    And all 500 articles are present with identical content
