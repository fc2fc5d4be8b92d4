@cluster @serial @power-loss
Feature: A node that loses power loses nothing the cluster acknowledged
  A write is acknowledged only once a majority of the nodes have synced it to disk. So when
  the leader loses power — losing whatever its disk had not synced, and maybe tearing the
  page it was writing — the acknowledged writes are still on the others, and the node that
  lost power comes back, catches up, and agrees with them.

  Scenario: The leader loses power under load, twice
    Given a 3-node Lithair cluster whose disks can lose power
    When 4 clients read and write 5 articles for 8 seconds while the leader loses power twice
    Then the history is linearizable
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index

  Scenario: Two nodes of five lose power at once under load
    Given a 5-node Lithair cluster whose disks can lose power
    When 4 clients read and write 5 articles for 8 seconds while a minority loses power once
    Then the history is linearizable
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index
