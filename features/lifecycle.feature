@lifecycle
Feature: Lifecycles — what happens to an article stays true after deletes and restarts
  An id names one article forever: a deleted article's id is never given to another. Whatever
  was changed or deleted before a restart is still changed or deleted after it, and users and
  comments come back as they were written. After a restart from a snapshot, numbering goes on.

  Scenario: an id is never given out again after a delete
    Given a running Lithair server
    And I have created 5 articles
    And I have deleted 2 articles
    When I create 3 articles
    Then the article ids are unique
    And every article reads back as it was sent
    And the events.raftlog file holds what was sent
    And the health counters match what was written

  Scenario: updates and deletes survive a restart
    Given a running Lithair server
    And I have created 20 articles
    When I modify 6 articles
    And I delete 5 articles
    And I restart the server
    Then all 15 articles are present with identical content
    And every article reads back as it was sent
    And the health counters match what was written
    When I create 2 articles
    Then the article ids are unique
    And the events.raftlog file holds what was sent
    And the events are in chronological order

  Scenario: users and comments survive a restart
    Given a running Lithair server
    And I have created 3 articles
    And I have registered 2 users
    When I add 5 comments
    And I delete 1 article
    And I restart the server
    Then every user and comment reads back as it was sent
    And the articles served match a replay of the events.raftlog file
    And the health counters match what was written
    When I register 1 user
    And I add 2 comments
    Then every user and comment reads back as it was sent
    And the events.raftlog file holds what was sent

  Scenario: writing goes on after a restart from a snapshot
    Given a running Lithair server taking a snapshot every 10 events
    And I have created 25 articles
    And I have registered 1 user
    When I modify 3 articles
    And I delete 2 articles
    And I restart the server
    Then every article reads back as it was sent
    And the health counters match what was written
    When I create 5 articles
    And I add 3 comments
    Then the article ids are unique
    And every article reads back as it was sent
    And every user and comment reads back as it was sent
    And the events.raftlog file holds what was sent
    And the events are in chronological order
    And the health counters match what was written
