@cluster @serial
Feature: Losing the leader loses no acknowledged write
  When the leader crashes, the others elect a new one within about a second and carry on.
  Every write the old leader acknowledged is still there; the old leader comes back as a
  follower and catches up.

  Scenario: The leader is killed and the majority carries on
    Given a 3-node Lithair cluster
    When 20 articles are created through node 1
    And the leader is killed
    Then a new leader acknowledges a write within 3000 ms
    When 10 articles are created through a node that is up
    And the killed node is restarted
    Then every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index

  Scenario: A paused leader is replaced and steps down when it wakes
    Given a 3-node Lithair cluster
    When the leader is paused
    Then a new leader acknowledges a write within 3000 ms
    When the paused node is resumed
    Then one node leads and the others follow it
    And every acknowledged write is present on every node

  Scenario: A random node is killed and comes back from its data directory
    Given a 3-node Lithair cluster
    When 10 articles are created through a node that is up
    And a random node is killed
    And 10 articles are created through a node that is up
    And the killed node is restarted
    Then every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index

  Scenario: Clients race while random nodes are killed, leader or not
    Given a 3-node Lithair cluster
    When 4 clients read and write 5 articles for 6 seconds while a random node is killed twice
    Then the history is linearizable
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index

  Scenario: A restarted node remembers the vote it gave
    Raft is safe only if a node votes at most once per term, crash or not: two leaders of one
    term could each commit a different write at the same place.

    Given a 3-node Lithair cluster
    When 10 articles are created through a node that is up
    And a follower is cut off, killed and restarted
    Then asked for a second vote in the same term, the restarted follower refuses
    And every acknowledged write is present on every node
