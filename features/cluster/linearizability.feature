@cluster @serial
Feature: Every client sees one consistent order of operations, through crashes and partitions
  Several clients read and write the same articles while nodes crash and the network splits.
  The history of what they asked and what they were told must be explainable by one order of
  the operations that respects real time (it is linearizable): no stale read, no lost
  acknowledged write, no value nobody wrote.

  Scenario: Clients race on a few articles while the leader is killed
    Given a 3-node Lithair cluster
    When 4 clients read and write 5 articles for 10 seconds while the leader is killed twice
    Then the history is linearizable
    And every acknowledged write is present on every node

  Scenario: Clients race on a few articles while the network splits
    Given a 3-node Lithair cluster
    When 4 clients read and write 5 articles for 10 seconds while the leader is cut off twice
    Then the history is linearizable
    And no write was acknowledged on the minority side
    And every acknowledged write is present on every node

  Scenario: Comments appended concurrently are never lost, duplicated or reordered
    Given a 3-node Lithair cluster
    When 4 clients append comments to 3 articles for 6 seconds while the leader is killed once
    Then no acknowledged comment was lost, duplicated or reordered on any node

  @slow
  Scenario: The leader is killed at random moments under write load, 10 times
    Given a 3-node Lithair cluster
    When 4 clients read and write 5 articles for 44 seconds while the leader is killed 10 times
    Then the history is linearizable
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index
