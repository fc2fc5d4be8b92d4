@crud
Feature: Creating, modifying and deleting articles
  Every change is an event in the log. What the server serves and what a replay of the log
  gives must always be the same articles.

  Scenario: create 100, modify 50, delete 25
    Given a running Lithair server
    When I create 100 articles
    And I modify 50 articles
    And I delete 25 articles
    Then the events.raftlog file contains exactly 100 ArticleCreated events
    And the events.raftlog file contains exactly 50 ArticleUpdated events
    And the events.raftlog file contains exactly 25 ArticleDeleted events
    And the server reports 75 active articles
    And replaying the events.raftlog file gives 75 active articles
    And the articles served match a replay of the events.raftlog file
    And the events are in chronological order
    And every article reads back as it was sent
    And the events.raftlog file holds what was sent
    And the health counters match what was written
    And the server says it runs in fsync durability

  Scenario: changing an article that does not exist is refused and writes nothing
    Given a running Lithair server
    And I have created 3 articles
    And I have deleted 1 article
    When I try to modify an article that does not exist
    Then the request is refused as not found
    When I try to modify the deleted article
    Then the request is refused as not found
    When I try to delete the deleted article again
    Then the request is refused as not found
    And the events.raftlog file contains exactly 4 events
    And the server reports 2 active articles
    And every article reads back as it was sent
    And the health counters match what was written
