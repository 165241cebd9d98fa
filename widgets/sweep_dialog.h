// Starting a sweep from the GUI: one or two of the method's parameters with their values (a list
// "0.5, 1, 2" or a range "log:0.001:1:4"), seeds, the reference method and the matched budget.
// Prefilled from the method panel's current values; the main window plans and runs it.
#pragma once
#include <QDialog>
#include <QString>

#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace rudder::widgets {

struct SweepChoice {
    std::vector<std::string> grids;   // "sigma=0.5,1,2" (rudder::parseSweepAxis syntax)
    int seeds = 1;
    std::string reference = "bon";    // "" = none
    std::string budgetAxis = "samples";
    double budget = 256;
    std::string name;                 // "" = the default name
};

// A matched-budget comparison of methods (each with its method-panel settings) against
// best-of-n, over seeds.
struct CompareChoice {
    std::vector<std::string> methods;
    int seeds = 3;
    std::string budgetAxis = "samples";
    double budget = 256;
    std::string name;
};

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    // current: the method panel's method (checked at first); maxNewTokens: its response length,
    // which every method of the comparison uses.
    CompareDialog(const std::string& current, int64_t maxNewTokens, QWidget* parent = nullptr);
    CompareChoice choice() const;

private:
    std::vector<std::pair<std::string, QCheckBox*>> boxes_;
    QSpinBox* seeds_;
    QComboBox* axis_;
    QDoubleSpinBox* budget_;
    QLineEdit* name_;
};

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    // method: the method panel's current method id.
    explicit SweepDialog(const std::string& method, QWidget* parent = nullptr);
    SweepChoice choice() const;
    void setChoice(const SweepChoice& c);   // tests and remembered settings
    // "" when the grid parses, else why not (shown under the fields, OK disabled).
    QString problem() const;

private:
    void validate();
    std::string method_;
    QComboBox* key1_;
    QLineEdit* values1_;
    QComboBox* key2_;
    QLineEdit* values2_;
    QSpinBox* seeds_;
    QComboBox* reference_;
    QComboBox* axis_;
    QDoubleSpinBox* budget_;
    QLineEdit* name_;
    QLabel* status_;
    QPushButton* okButton_ = nullptr;
    QString problem_;
};

} // namespace rudder::widgets
